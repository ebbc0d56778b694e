"""Training commands: train (learning curves) and curve (print a stored run)."""
from __future__ import annotations

import json

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.errors import ConfigError
from nearmiss.jobs.runs import reopen
from nearmiss.train.config import TrainConfig, default_of, help_of
from nearmiss.train.report import comparison_lines, curve_table, gain_lines, roof_line
from nearmiss.train.runs import curve_report, run_summary


def _list(text: str | None, name: str, cast=str) -> list | None:
    if text is None:
        return None
    try:
        return [cast(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{name.replace('_', '-')}: expected a comma-separated list, got {text!r}") from None


def _w(text: str | None) -> float | str | None:
    if text is None or text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--likra-w: a number or auto, got {text!r}") from None


def _print_run(store, run_id: int, as_json: bool) -> None:
    report = curve_report(store, run_id)
    metrics = run_summary(store, run_id)["metrics"] or {}
    roof, notes = metrics.get("roof"), metrics.get("notes") or {}
    if as_json:
        typer.echo(json.dumps({**report, "roof": roof, "notes": notes}, default=str))
        return
    typer.echo(f"run {run_id}: {report['status']} ({report['message']}); seeds {report['seeds']}, "
               f"{report['n_eval'] or '?'} eval items")
    typer.echo(curve_table(report["points"]))
    typer.echo("")
    typer.echo(gain_lines(report["gains"]))
    typer.echo("\npaired differences (same eval items and seeds), 95% bootstrap intervals:")
    typer.echo(comparison_lines(report["comparisons"]))
    if roof_line(roof):
        typer.echo(roof_line(roof))
    for seed, lines in notes.items():
        for line in lines:
            typer.echo(f"seed {seed}: {line}")


def _opt(name: str, **kw):
    """An option whose help comes from the config field; None when not given, so a recipe's
    setting stays unless the user sets it."""
    default = default_of(name)
    shown = ",".join(map(str, default)) if isinstance(default, list) else default
    return typer.Option(None, help=f"{help_of(name)} [default: {shown}]", show_default=False, **kw)


@app.command()
def train(ctx: typer.Context,
          dataset: str = _opt("dataset"),
          methods: str = _opt("methods"),
          sizes: str = _opt("sizes"),
          negatives: str = _opt("negatives"),
          seeds: str = _opt("seeds"),
          recipe: str = _opt("recipe"),
          train_split: str = _opt("train_split"),
          eval_split: str = _opt("eval_split"),
          eval_limit: int = _opt("eval_limit"),
          lm: str = _opt("lm"),
          lr: float = _opt("lr"),
          epochs: int = _opt("epochs"),
          likra_w: str = _opt("likra_w"),
          out_dir: str = _opt("out_dir"),
          set_: list[str] = typer.Option(None, "--set", help="Any other config field, e.g. --set lora_r=8 "
                                                              "(see nearmiss/train/config.py)."),
          run: int = typer.Option(None, "--run", help="Execute a pending run created by the app (its stored "
                                                      "config; other options ignored)."),
          resume: int = typer.Option(None, "--resume", help="Resume an interrupted, cancelled or failed run: "
                                                             "compute only the points it has not stored."),
          as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
          ) -> None:
    """Train learning curves: each method on the first n examples of each negative set, per
    seed, evaluated on a held-out split after each size; stored as a Run with its curve points,
    printed with 95% intervals and paired comparisons."""
    store = store_of(ctx)
    if resume is not None:
        reopen(store, resume)
        run = resume
    if run is not None:
        cfg = TrainConfig.from_dict(run_summary(store, run)["config"])
    else:
        extra = {}
        for kv in set_ or []:
            key, sep, value = kv.partition("=")
            if not sep:
                raise ConfigError(f"--set: expected key=value, got {kv!r}")
            try:
                extra[key] = json.loads(value)  # numbers, booleans, lists
            except json.JSONDecodeError:
                extra[key] = value
        given = {"dataset": dataset, "methods": _list(methods, "methods"), "sizes": _list(sizes, "sizes", int),
                 "negatives": _list(negatives, "negatives"), "seeds": _list(seeds, "seeds", int), "recipe": recipe,
                 "train_split": train_split, "eval_split": eval_split, "eval_limit": eval_limit, "lm": lm, "lr": lr,
                 "epochs": epochs, "likra_w": _w(likra_w), "out_dir": out_dir}
        cfg = TrainConfig.from_dict({**{k: v for k, v in given.items() if v is not None}, **extra})
    from nearmiss.train.curves import run_curves  # loads torch: only when training

    run_id = run_curves(store, cfg, run_id=run)
    _print_run(store, run_id, as_json)


@app.command()
def curve(ctx: typer.Context, run: int = typer.Argument(..., help="Training run id."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Print a training run's learning curve with intervals, its gain table and the paired
    comparisons (same eval items and seeds)."""
    _print_run(store_of(ctx), run, as_json)
