"""Store, loading and setup commands: init, load, datasets, benchmarks, models, demo."""
from __future__ import annotations

import json
import os
import sys

import typer
from sqlalchemy import make_url
from tqdm import tqdm

from nearmiss.cli import app
from nearmiss.demo import build_demo
from nearmiss.jobs.inline import run_here
from nearmiss.lm.models import prepare
from nearmiss.load.datasets import dataset_stats
from nearmiss.load.ingest import LoadResult
from nearmiss.load.run import load_source
from nearmiss.load.sources import FILE_FORMATS, bundled_names
from nearmiss.load.sources.bundled import mmlu_subjects
from nearmiss.store import Store


def store_of(ctx: typer.Context) -> Store:
    """The store named by --db / NEARMISS_DB, migrated to the newest schema (a private view when
    NEARMISS_PRIVATE_STORE=1: the secondary processes of a data-parallel launch)."""
    return Store(ctx.find_root().obj["db"], private=os.environ.get("NEARMISS_PRIVATE_STORE") == "1")


def say_run(run_id: int) -> None:
    """Name a run the command works on in the foreground, on stderr, with how to stop it."""
    typer.echo(f"run {run_id}; stop it with: nearmiss runs cancel {run_id}", err=True)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the store (or migrate it to the newest schema)."""
    store = store_of(ctx)
    typer.echo(f"Store ready: {make_url(store.url).render_as_string(hide_password=True)}")


@app.command()
def load(ctx: typer.Context,
         source: str = typer.Argument(..., help="Bundled name (see `nearmiss benchmarks`), a JSONL/JSON/CSV/Parquet "
                                                "file, or a folder saved by datasets.save_to_disk."),
         split: str = typer.Option(None, help="Split to load (bundled: default the first; files: default 'train')."),
         limit: int = typer.Option(None, help="Load at most this many items."),
         map: str = typer.Option(None, "--map", help="Field mapping, e.g. question=q,choices=a|b|c|d,answer=label."),
         format: str = typer.Option(None, "--format", help=f"File format: {', '.join(FILE_FORMATS)} (default: detect)."),
         name: str = typer.Option(None, help="Dataset name for a file (default: the file name)."),
         ) -> None:
    """Load items (and given candidates) into the store as a run of kind load (see `nearmiss runs`; a
    cancelled load undoes what it stored, keeping only items labeled meanwhile); loading twice adds nothing."""
    store = store_of(ctx)
    with tqdm(desc=f"load {source}", unit=" items", total=limit, file=sys.stderr) as bar:
        result = run_here(store, "load", {"source": source, "dataset": name or source, "split": split},
                          lambda report: load_source(store, source, split=split, limit=limit, mapping=map, fmt=format,
                                                     name=name, on_batch=bar.update, report=report),
                          LoadResult.summary, on_start=say_run)
    typer.echo(f"{source}: {result.summary()}")


@app.command()
def datasets(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Items, candidates and labels per dataset and split."""
    stats = dataset_stats(store_of(ctx))
    if as_json:
        typer.echo(json.dumps({"datasets": [s.as_dict() for s in stats]}))
        return
    typer.echo(f"{'dataset':30} {'split':12} {'items':>8} {'candidates':>11} {'labels':>8}")
    for s in stats:
        typer.echo(f"{s.name:30} {s.split:12} {s.items:>8} {s.candidates:>11} {s.labels:>8}")


@app.command()
def benchmarks() -> None:
    """List the bundled sources that `nearmiss load` accepts by name."""
    for name in bundled_names():
        typer.echo(name)
    typer.echo("mmlu subjects: " + ", ".join(mmlu_subjects()))


models_app = typer.Typer(help="Bundled models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("prepare")
def models_prepare(lm: list[str] = typer.Option(None, "--lm", help="LMs: bundled names, hub ids org/name or local "
                                                                     "folders (default: smollm2-135m)."),
                   embedder: list[str] = typer.Option(None, "--embedder", help="Embedders: bundled names, hub ids "
                                                      "org/name or local folders (default: all-MiniLM-L6-v2).")
                   ) -> None:
    """Convert and cache the bundled models once; find hub ids in the Hugging Face cache (downloaded only
    with HF_HUB_OFFLINE=0)."""
    for path in prepare(lm or None, embedder or None):
        typer.echo(f"ready: {path}")


@app.command()
def demo(ctx: typer.Context) -> None:
    """Build the demo project in the store (idempotent)."""
    for line in build_demo(store_of(ctx)):
        typer.echo(line)
