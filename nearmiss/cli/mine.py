"""`nearmiss mine`: propose, score and rank candidate wrong answers for a dataset."""
from __future__ import annotations

import json
import logging
from typing import Any

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.cli.options import config_options
from nearmiss.mine.backends import make_backend
from nearmiss.mine.run import MineConfig
from nearmiss.mine.run import mine as mine_dataset


@app.command()
@config_options(MineConfig, "dataset", "split", "pools", "scorers", "limit", "lm", "dtype", "embedder", "batch_size",
                "neighbours.k", "neighbours.index.kind", "lm_samples.samples", "rank.w_gold", "rank.w_question",
                "rank.w_lm", "rank.near_threshold", flags={"neighbours.index.kind": "index"})
def mine(ctx: typer.Context, settings: dict[str, Any],
         backend: str = typer.Option("local", help="Where pools and scorers run: local (this process) or ray "
                                                   "(Ray Data actor pools; needs `pip install nearmiss[ray]`)."),
         address: str = typer.Option(None, help="Ray cluster head (host:port, ray://host:port or auto); default: "
                                                "RAY_ADDRESS, else Ray starts on this machine. --backend ray only."),
         actors: int = typer.Option(1, help="Actors per stage (pools, each scorer). --backend ray only."),
         as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
         ) -> None:
    """Mine candidates: resumable and incremental (items mined with the same settings are skipped)."""
    logging.basicConfig(level=logging.WARNING)
    cfg = MineConfig.from_dict(settings)
    result = mine_dataset(store_of(ctx), cfg, backend=make_backend(backend, address, actors))
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    index_note = f"; neighbour index: {result.index}" if result.index else ""
    typer.echo(f"{cfg.dataset}: mined {result.items_mined} items ({result.items_skipped} already mined), "
               f"{result.candidates_added} new candidates, {result.candidates_rescored} rescored, "
               f"{result.possibly_correct} flagged possibly correct{index_note}; run {result.run_id} "
               f"in {result.seconds:.1f}s")
