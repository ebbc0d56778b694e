"""Training commands: train (learning curves) and curve (print a stored run)."""
from __future__ import annotations

import json

import typer

from curator.cli import app
from curator.cli.core import store_of
from curator.errors import ConfigError
from curator.trainer.config import TrainConfig, default_of, help_of
from curator.trainer.runs import gain_table, load_points, run_summary
from curator.trainer.report import curve_table, gain_lines


def _list(text: str, name: str, cast=str) -> list:
    try:
        return [cast(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{name}: expected a comma-separated list, got {text!r}") from None


def _print_run(store, run_id: int, as_json: bool) -> None:
    run = run_summary(store, run_id)
    points = load_points(store, run_id)
    rows = gain_table(points, run["config"].get("low_data_max", default_of("low_data_max")))
    if as_json:
        typer.echo(json.dumps({"run": run_id, "status": run["status"], "points": points, "gains": rows},
                              default=str))
        return
    typer.echo(f"run {run_id}: {run['status']} ({run['message']})")
    typer.echo(curve_table(points))
    typer.echo(gain_lines(rows))


@app.command()
def train(ctx: typer.Context,
          dataset: str = typer.Option(default_of("dataset"), help=help_of("dataset")),
          methods: str = typer.Option(",".join(default_of("methods")), help=help_of("methods")),
          sizes: str = typer.Option(",".join(map(str, default_of("sizes"))), help=help_of("sizes")),
          negatives: str = typer.Option(",".join(default_of("negatives")), help=help_of("negatives")),
          seed: int = typer.Option(default_of("seed"), help=help_of("seed")),
          train_split: str = typer.Option(default_of("train_split"), help=help_of("train_split")),
          eval_split: str = typer.Option(default_of("eval_split"), help=help_of("eval_split")),
          eval_limit: int = typer.Option(None, help=help_of("eval_limit")),
          lm: str = typer.Option(default_of("lm"), help=help_of("lm")),
          lr: float = typer.Option(default_of("lr"), help=help_of("lr")),
          epochs: int = typer.Option(default_of("epochs"), help=help_of("epochs")),
          likra_w: float = typer.Option(default_of("likra_w"), help=help_of("likra_w")),
          out_dir: str = typer.Option(default_of("out_dir"), help=help_of("out_dir")),
          set_: list[str] = typer.Option(None, "--set", help="Any other config field, e.g. --set lora_r=8 "
                                                              "(see curator/trainer/config.py)."),
          run: int = typer.Option(None, "--run", help="Execute a pending run created by the app (its stored "
                                                      "config; other options ignored)."),
          as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
          ) -> None:
    """Train learning curves: each method on the first n examples of each negative set,
    evaluated on a held-out split after each size; stored as a Run with its curve points."""
    store = store_of(ctx)
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
        cfg = TrainConfig.from_dict({
            "dataset": dataset, "methods": _list(methods, "methods"), "sizes": _list(sizes, "sizes", int),
            "negatives": _list(negatives, "negatives"), "seed": seed, "train_split": train_split,
            "eval_split": eval_split, "eval_limit": eval_limit, "lm": lm, "lr": lr, "epochs": epochs,
            "likra_w": likra_w, "out_dir": out_dir, **extra})
    from curator.trainer.curves import run_curves  # loads torch: only when training

    run_id = run_curves(store, cfg, run_id=run)
    _print_run(store, run_id, as_json)


@app.command()
def curve(ctx: typer.Context, run: int = typer.Argument(..., help="Training run id."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Print a training run's learning curve and gain table."""
    _print_run(store_of(ctx), run, as_json)
