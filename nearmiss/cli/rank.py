"""`nearmiss rank fit|show`: the ranker learned from labels (p_near) and its quality."""
from __future__ import annotations

import json
from typing import Any

import typer
from tqdm import tqdm

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.cli.options import config_options
from nearmiss.label.ranker import DEFAULT_THRESHOLD, RankerConfig
from nearmiss.label.ranker import fit as fit_ranker
from nearmiss.label.ranker import show as show_ranker
from nearmiss.settings import build

rank_app = typer.Typer(help="The ranker learned from labels: fit it, show it.", no_args_is_help=True)
app.add_typer(rank_app, name="rank")


def _interval(q: dict[str, Any], name: str) -> str:
    v = q[name]
    return f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _describe(r: dict[str, Any]) -> list[str]:
    q = r["quality"]
    if r["kind"] == "fixed":
        return [f"fixed blend (nearness): {q['near']} near + {q['far']} far labels, {q['needed']} more needed"]
    lines = [f"ranker v{r['version']} ({r['model']}, scope {r['scope']}) from {r['labels']} labels "
             f"({q['near']} near, {q['far']} far), {q['folds']}-fold CV, 95% bootstrap intervals:",
             f"  AUC       learned {_interval(q, 'learned_auc')}  fixed blend {_interval(q, 'blend_auc')}  "
             f"gain {_interval(q, 'auc_gain')}",
             f"  accuracy  learned {_interval(q, 'learned_accuracy')}  fixed blend {_interval(q, 'blend_accuracy')}",
             "  features (AUC drop when shuffled): "
             + ", ".join(f"{k} {v:.3f}" for k, v in list(q["importance"].items())[:6])]
    return lines


@rank_app.command("fit")
@config_options(RankerConfig, "model", "scope", "min_labels", "min_per_class", "folds", "refit_every", "seed")
def fit(ctx: typer.Context, settings: dict[str, Any],
        dataset: str = typer.Option(None, help="Dataset whose labels teach the ranker (not needed with --scope all)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object.")) -> None:
    """Fit the ranker on the final labels and write p_near on every candidate of its scope."""
    cfg = build(RankerConfig, settings)
    store = store_of(ctx)
    with tqdm(total=100, desc="rank fit", disable=as_json) as bar:
        def progress(fraction: float, text: str) -> None:
            bar.set_postfix_str(text[:60])
            bar.update(round(100 * fraction) - bar.n)

        result = fit_ranker(store, dataset, cfg, progress)
    if as_json:
        typer.echo(json.dumps({"version": result.ranker_id, "scope": result.scope, "kind": result.kind,
                               "labels": result.labels, "needed": result.needed, "quality": result.quality,
                               "message": result.message}))
        return
    typer.echo(result.message)


@rank_app.command("show")
@config_options(RankerConfig, "scope")
def show(ctx: typer.Context, settings: dict[str, Any],
         dataset: str = typer.Option(None, help="Dataset whose ranker to show (not needed with --scope all)."),
         threshold: float = typer.Option(DEFAULT_THRESHOLD, help="Confidence max(p_near, 1 - p_near) at which a card "
                                         "gets a suggestion: coverage and agreement are reported at it."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """The ranker serving a dataset (learned, or the fixed blend), its cross-validated quality,
    and per version the suggestions' coverage and agreement with the final labels."""
    shown = show_ranker(store_of(ctx), dataset, build(RankerConfig, settings).scope, threshold)
    if as_json:
        typer.echo(json.dumps(shown))
        return
    serving, last = shown["serving"], shown["latest"]
    if serving["kind"] == "fixed":
        typer.echo(f"{shown['scope']}: the fixed blend (nearness) ranks; no learned ranker yet")
    else:
        typer.echo("\n".join(_describe(serving)))
    if last and last["kind"] == "fixed":
        typer.echo("latest attempt: " + _describe(last)[0])
    for v in shown["suggestions"]:
        typer.echo(f"  v{v['version']} suggestions at confidence {v['threshold']:.2f}: {_share(v['coverage'])} of "
                   f"cards, final labels agree with {_share(v['agreement'])} ({v['agreement_labels'] or 0} labels, "
                   "out of fold)")
