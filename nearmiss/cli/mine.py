"""`nearmiss mine`: propose, score and rank candidate wrong answers for a dataset."""
from __future__ import annotations

import json
import logging

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.lm.models import DEFAULT_EMBEDDER, DEFAULT_LM
from nearmiss.mine.backends import make_backend
from nearmiss.mine.base import help_of
from nearmiss.mine.index import IndexConfig
from nearmiss.mine.pools.lm import LMSampleConfig
from nearmiss.mine.pools.neighbours import NeighboursConfig
from nearmiss.mine.rank import RankConfig
from nearmiss.mine.run import MineConfig
from nearmiss.mine.run import mine as mine_dataset


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@app.command()
def mine(ctx: typer.Context,
         dataset: str = typer.Option(..., help=help_of(MineConfig, "dataset")),
         split: str = typer.Option(None, help=help_of(MineConfig, "split")),
         pools: str = typer.Option("distractors,neighbours", help=help_of(MineConfig, "pools") +
                                   " Comma-separated: distractors, neighbours, lm, failed_traces, given."),
         scorers: str = typer.Option("embedding,lm", help=help_of(MineConfig, "scorers") + " Comma-separated."),
         limit: int = typer.Option(None, help=help_of(MineConfig, "limit")),
         lm: str = typer.Option(DEFAULT_LM, "--lm", help=help_of(MineConfig, "lm")),
         dtype: str = typer.Option("auto", help=help_of(MineConfig, "dtype")),
         embedder: str = typer.Option(DEFAULT_EMBEDDER, help=help_of(MineConfig, "embedder")),
         batch_size: int = typer.Option(32, help=help_of(MineConfig, "batch_size")),
         k: int = typer.Option(NeighboursConfig.k, help=help_of(NeighboursConfig, "k")),
         index: str = typer.Option("auto", help=help_of(IndexConfig, "kind")),
         samples: int = typer.Option(LMSampleConfig.samples, help=help_of(LMSampleConfig, "samples")),
         w_gold: float = typer.Option(RankConfig.w_gold, help=help_of(RankConfig, "w_gold")),
         w_question: float = typer.Option(RankConfig.w_question, help=help_of(RankConfig, "w_question")),
         w_lm: float = typer.Option(RankConfig.w_lm, help=help_of(RankConfig, "w_lm")),
         near_threshold: float = typer.Option(RankConfig.near_threshold, help=help_of(RankConfig, "near_threshold")),
         backend: str = typer.Option("local", help="Where pools and scorers run: local (this process) or ray "
                                                   "(Ray Data actor pools; needs `pip install nearmiss[ray]`)."),
         address: str = typer.Option(None, help="Ray cluster head (host:port, ray://host:port "
                                     "or auto); default: RAY_ADDRESS, else Ray starts on this machine. --backend ray only."),
         actors: int = typer.Option(1, help="Actors per stage (pools, each scorer). --backend ray only."),
         as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
         ) -> None:
    """Mine candidates: resumable and incremental (items mined with the same settings are skipped)."""
    logging.basicConfig(level=logging.WARNING)
    cfg = MineConfig(dataset=dataset, split=split, pools=_names(pools), scorers=_names(scorers), limit=limit, lm=lm,
                     dtype=dtype, embedder=embedder, batch_size=batch_size,
                     neighbours=NeighboursConfig(k=k, index=IndexConfig(kind=index)),
                     lm_samples=LMSampleConfig(samples=samples),
                     rank=RankConfig(w_gold=w_gold, w_question=w_question, w_lm=w_lm, near_threshold=near_threshold))
    result = mine_dataset(store_of(ctx), cfg, backend=make_backend(backend, address, actors))
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    index_note = f"; neighbour index: {result.index}" if result.index else ""
    typer.echo(f"{dataset}: mined {result.items_mined} items ({result.items_skipped} already mined), "
               f"{result.candidates_added} new candidates, {result.candidates_rescored} rescored, "
               f"{result.possibly_correct} flagged possibly correct{index_note}; run {result.run_id} "
               f"in {result.seconds:.1f}s")
