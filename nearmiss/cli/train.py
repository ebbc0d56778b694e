"""Training commands: train (learning curves) and curve (print a stored run)."""
from __future__ import annotations

import json
from typing import Any

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.cli.options import config_options
from nearmiss.errors import ConfigError
from nearmiss.jobs.runs import reopen
from nearmiss.train.config import TrainConfig
from nearmiss.train.decide import ASSUMPTIONS, Decision
from nearmiss.train.decide import RULE as DECIDE_RULE
from nearmiss.train.report import comparison_lines, curve_table, decision_lines, gain_lines, roof_line
from nearmiss.train.runs import curve_report, run_summary
from nearmiss.train.stats import FIRST_LOOK


def _print_run(store, run_id: int, as_json: bool) -> None:
    report = curve_report(store, run_id)
    metrics = run_summary(store, run_id)["metrics"] or {}
    roof, notes = metrics.get("roof"), metrics.get("notes") or {}
    decisions, decide = metrics.get("decisions") or [], metrics.get("decide")
    if as_json:
        typer.echo(json.dumps({**report, "roof": roof, "notes": notes, "decisions": decisions, "decide": decide},
                              default=str))
        return
    typer.echo(f"run {run_id}: {report['status']} ({report['message']}); seeds {report['seeds']}, "
               f"{report['n_eval'] or '?'} eval items")
    typer.echo(curve_table(report["points"]))
    typer.echo("")
    typer.echo(gain_lines(report["gains"]))
    typer.echo("\npaired differences (same eval items and seeds), 95% bootstrap intervals:")
    typer.echo(comparison_lines(report["comparisons"]))
    if decisions:
        typer.echo(f"\ndecisions ({DECIDE_RULE}):")
        typer.echo(decision_lines(decisions, decide))
    if roof_line(roof):
        typer.echo(roof_line(roof))
    for seed, lines in notes.items():
        for line in lines:
            typer.echo(f"seed {seed}: {line}")


@app.command()
@config_options(TrainConfig, "dataset", "methods", "sizes", "negatives", "seeds", "recipe", "train_split", "eval_split",
                "eval_limit", "lm", "lr", "epochs", "likra_w", "decide", "equivalence", "budget", "max_seeds",
                "spending", "out_dir")
def train(ctx: typer.Context, settings: dict[str, Any],
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
    printed with 95% intervals and paired comparisons. With --decide, seeds are added until each named
    comparison is decided (or --max-seeds / --budget); after each seed from the second the state of
    each comparison and what an undecided one would need are printed. An option not given keeps the
    recipe's setting."""
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
        cfg = TrainConfig.from_dict({**settings, **extra})
    from nearmiss.train.curves import run_curves  # loads torch: only when training

    run_id = run_curves(store, cfg, run_id=run, on_look=None if as_json else _print_look)
    _print_run(store, run_id, as_json)


def _print_look(decisions: list[Decision]) -> None:
    """What a deciding run says after each seed from the second: each comparison's state, and what
    an undecided one would need (with the assumptions, at the first look)."""
    typer.echo(f"after {decisions[0].seeds} seeds:", err=True)
    typer.echo(decision_lines([d.as_dict() for d in decisions]), err=True)
    if decisions[0].seeds == FIRST_LOOK and any(d.need for d in decisions):
        typer.echo(f"(power: {ASSUMPTIONS})", err=True)


@app.command()
def curve(ctx: typer.Context, run: int = typer.Argument(..., help="Training run id."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Print a training run's learning curve with intervals, its gain table and the paired
    comparisons (same eval items and seeds)."""
    _print_run(store_of(ctx), run, as_json)
