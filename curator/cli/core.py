"""Store, loading, account and setup commands: init, load, datasets, benchmarks, user, models, demo, app."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer
from tqdm import tqdm

from curator.labeling.accounts import add_user
from curator.cli import app
from curator.datasets import dataset_stats
from curator.demo import build_demo
from curator.loaders import FILE_FORMATS, bundled_names
from curator.loading import load_source
from curator.loaders.bundled import mmlu_subjects
from curator.models import prepare
from curator.store.schema import ROLES
from curator.store import Store, resolve_url

user_app = typer.Typer(help="Manage annotator accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def store_of(ctx: typer.Context) -> Store:
    """The store named by --db / NEARMISS_DB, migrated to the newest schema."""
    return Store(ctx.find_root().obj["db"])


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the store (or migrate it to the newest schema)."""
    store = store_of(ctx)
    typer.echo(f"Store ready: {store.url}")


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
    """Load items (and given candidates) into the store; loading twice adds nothing."""
    store = store_of(ctx)
    with tqdm(desc=f"load {source}", unit=" items", total=limit, file=sys.stderr) as bar:
        result = load_source(store, source, split=split, limit=limit, mapping=map, fmt=format, name=name,
                             on_batch=bar.update)
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


@user_app.command("add")
def user_add(ctx: typer.Context, name: str,
             role: str = typer.Option("annotator", help=f"One of: {', '.join(ROLES)}."),
             password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Read from a prompt, or from stdin when piped.")) -> None:
    """Create an account (or reset its role and password)."""
    user = add_user(store_of(ctx), name, role, password)
    typer.echo(f"user {user.name} ({user.role}) saved")


@app.command("app")
def run_app(ctx: typer.Context, port: int = typer.Option(8501, help="Port to serve on.")) -> None:
    """Start the Streamlit app on this store."""
    url = resolve_url(ctx.find_root().obj["db"])
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    Store(url).dispose()
    app_py = Path(__file__).resolve().parents[2] / "app.py"
    env = {**os.environ, "NEARMISS_DB": url}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_py), "--server.headless", "true", "--server.port",
           str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    raise typer.Exit(subprocess.call(cmd, env=env, cwd=app_py.parent))


models_app = typer.Typer(help="Bundled models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("prepare")
def models_prepare(lm: list[str] = typer.Option(None, "--lm", help="LM registry names or folders (default: smollm2-135m)."),
                   embedder: list[str] = typer.Option(None, "--embedder", help="Embedders (default: all-MiniLM-L6-v2).")
                   ) -> None:
    """Convert and cache the bundled models once (never downloads)."""
    for path in prepare(lm or None, embedder or None):
        typer.echo(f"ready: {path}")


@app.command()
def demo(ctx: typer.Context) -> None:
    """Build the demo project in the store (idempotent)."""
    for line in build_demo(store_of(ctx)):
        typer.echo(line)
