"""Labeling commands: overlap per dataset, agreement between annotators."""
from __future__ import annotations

import json

import typer
from sqlalchemy import select

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.errors import NotFoundError
from nearmiss.label.agreement import disagreements, pairwise, per_dataset
from nearmiss.label.labels import final_sources, sources_in_words
from nearmiss.label.queue import overlaps, set_overlap
from nearmiss.store.tables import Annotator


def _kappa(k: float | None) -> str:
    return "-" if k is None else f"{k:.3f}"


@app.command()
def overlap(ctx: typer.Context,
            dataset: str = typer.Argument(None, help="Dataset to set (omit to list every dataset's overlap)."),
            k: int = typer.Argument(None, help="Annotators per candidate."),
            as_user: str = typer.Option(None, "--as", help="Admin account making the change (required to set).")
            ) -> None:
    """Show or set how many annotators label each candidate of a dataset."""
    store = store_of(ctx)
    if dataset is not None:
        if k is None or as_user is None:
            raise typer.BadParameter("to set an overlap give DATASET, K and --as ADMIN")
        with store.session() as s:
            admin = s.scalar(select(Annotator.id).where(Annotator.name == as_user))
        if admin is None:
            raise NotFoundError(f"no account named '{as_user}'")
        set_overlap(store, admin, dataset, k)
    for name, n in overlaps(store).items():
        typer.echo(f"{name:30} {n:>3}")


@app.command()
def agreement(ctx: typer.Context,
              dataset: list[str] = typer.Option(None, "--dataset", help="Only these datasets (repeatable)."),
              as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Cohen's kappa per annotator pair, Fleiss' kappa per dataset, open disagreements."""
    store = store_of(ctx)
    names = tuple(dataset or ())
    pairs, datasets, open_ = pairwise(store, datasets=names), per_dataset(store, datasets=names), disagreements(
        store, datasets=names)
    sources = final_sources(store, datasets=names)
    if as_json:
        typer.echo(json.dumps({"pairs": [vars(p) for p in pairs], "datasets": [vars(d) for d in datasets],
                               "disagreements": len(open_), "final_labels": sources}))
        return
    typer.echo(f"{'annotator a':16} {'annotator b':16} {'shared':>7} {'agree':>6} {'kappa':>7}")
    for p in pairs:
        typer.echo(f"{p.a:16} {p.b:16} {p.shared:>7} {p.agreement:>6.2f} {_kappa(p.kappa):>7}")
    typer.echo(f"\n{'dataset':30} {'candidates':>10} {'labels':>7} {'fleiss':>7}")
    for d in datasets:
        typer.echo(f"{d.dataset:30} {d.candidates:>10} {d.labels:>7} {_kappa(d.kappa):>7}")
    typer.echo(f"\nopen disagreements: {len(open_)}; final labels: {sources_in_words(sources)}")
