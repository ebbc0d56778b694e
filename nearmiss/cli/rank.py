"""`nearmiss rank fit|show`: the ranker learned from labels (p_near) and its quality."""
from __future__ import annotations

import json
from typing import Any

import typer
from tqdm import tqdm

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.label.ranker import RankerConfig
from nearmiss.label.ranker import fit as fit_ranker
from nearmiss.label.ranker import show as show_ranker
from nearmiss.mine.base import help_of

rank_app = typer.Typer(help="The ranker learned from labels: fit it, show it.", no_args_is_help=True)
app.add_typer(rank_app, name="rank")

R = RankerConfig


def _interval(q: dict[str, Any], name: str) -> str:
    v = q[name]
    return f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"


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
def fit(ctx: typer.Context,
        dataset: str = typer.Option(None, help="Dataset whose labels teach the ranker (not needed with --scope all)."),
        model: str = typer.Option(R.model, help=help_of(R, "model")),
        scope: str = typer.Option(R.scope, help=help_of(R, "scope")),
        min_labels: int = typer.Option(R.min_labels, help=help_of(R, "min_labels")),
        min_per_class: int = typer.Option(R.min_per_class, help=help_of(R, "min_per_class")),
        folds: int = typer.Option(R.folds, help=help_of(R, "folds")),
        refit_every: int = typer.Option(R.refit_every, help=help_of(R, "refit_every")),
        seed: int = typer.Option(R.seed, help=help_of(R, "seed")),
        as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object.")) -> None:
    """Fit the ranker on the final labels and write p_near on every candidate of its scope."""
    cfg = RankerConfig(model=model, scope=scope, min_labels=min_labels, min_per_class=min_per_class, folds=folds,
                       refit_every=refit_every, seed=seed)
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
def show(ctx: typer.Context,
         dataset: str = typer.Option(None, help="Dataset whose ranker to show (not needed with --scope all)."),
         scope: str = typer.Option(R.scope, help=help_of(R, "scope")),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """The ranker serving a dataset (learned, or the fixed blend) and its cross-validated quality."""
    RankerConfig(scope=scope)  # checks the value
    shown = show_ranker(store_of(ctx), dataset, scope)
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
