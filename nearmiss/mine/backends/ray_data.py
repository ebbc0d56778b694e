"""Ray backend: pools and scorers as Ray Data ``map_batches`` stages on actor pools.

With the neighbours pool, a first pass embeds every item's question on an actor pool; the
driver builds the index from those vectors once and ships the pool to every actor through the
object store. Then item ids flow in blocks of ``batch_size``; the first stage reads its block's
items from the store and runs the pools; each scorer is a stage of its own, so
an LM stage can take GPU actors while the others stay on CPUs. Every actor loads its models
once. Scored batches stream back to the driver, which writes them to the store exactly as the
local backend does (same run row, progress and ``mined_items`` idempotence).

The cluster is ``address``, else ``RAY_ADDRESS``, else a Ray instance started on this machine.
Every node needs nearmiss installed and must reach the store (use PostgreSQL on a cluster).
"""
from __future__ import annotations

import logging
import os
import pickle
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nearmiss.errors import ConfigError
from nearmiss.mine.backends.base import Batch
from nearmiss.mine.base import Proposal

if TYPE_CHECKING:
    from nearmiss.mine.pools.neighbours import NeighbourPool
    from nearmiss.mine.run import Resources
    from nearmiss.store.tables import Item

log = logging.getLogger(__name__)
LOCAL_OBJECT_STORE = 256 * 2**20  # bytes; a run ships ids, pickled proposals and one index
CONNECT_TIMEOUT = 5.0  # seconds to reach a cluster's head before giving up
EMBED_BLOCK = 512  # questions per block of the embedding pass


def _block_count(n: int, size: int) -> int:
    """Blocks of ``size`` rows that ``n`` rows fill (at least one)."""
    return max(1, -(-n // size))


def _check_reachable(address: str) -> None:
    """Refuse an address no Ray head answers at (``ray.init`` itself retries for minutes)."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: give host:port of a Ray head (or ray://host:port, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as e:
        raise ConfigError(f"--address {address}: no Ray cluster answers there ({e.strerror or e}); "
                          f"start one with `ray start --head` or fix the address") from None


def connect(address: str | None, min_cpus: int) -> None:
    """Join the cluster at ``address``, else start Ray on this machine (``min_cpus`` logical CPUs at least)."""
    import ray

    if ray.is_initialized():
        return
    env = {"env_vars": {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "NEARMISS_CACHE",
                                                    "PYTHONPATH") if k in os.environ}}
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        if address:
            ray.init(address=address, runtime_env=env, logging_level=logging.WARNING, log_to_driver=False)
        else:
            os.environ.pop("RAY_ADDRESS", None)
            ray.init(num_cpus=max(os.cpu_count() or 1, min_cpus), object_store_memory=LOCAL_OBJECT_STORE,
                     include_dashboard=False, runtime_env=env, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as e:
        raise ConfigError(f"--address {address}: {str(e).splitlines()[0]}") from None


class _EmbedQuestions:
    """Actor: question embeddings of a block of items (cached in the store, as in process)."""

    def __init__(self, url: str, embedder: str):
        from nearmiss.store import Store

        self.store, self.embedder = Store(url, upgrade=False), embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from nearmiss.mine.embed import embed_texts

        return {"row": batch["row"], "vector": embed_texts(self.store, self.embedder, list(batch["question"]))}


def _neighbour_pool(res: Resources, actors: int, cpus: float, gpus: int) -> NeighbourPool:
    """The neighbour pool over ``res.universe``: questions embedded by ``actors`` actors, the index built here."""
    import ray.data

    from nearmiss.mine.pools.neighbours import NeighbourPool

    universe = res.universe
    blocks = _block_count(len(universe), EMBED_BLOCK)
    actors = min(actors, blocks)  # an actor without a block would load the embedder for nothing
    ds: ray.data.Dataset = ray.data.from_items([{"row": i, "question": it.question} for i, it in enumerate(universe)],
                                               override_num_blocks=blocks)
    ds = ds.map_batches(_EmbedQuestions, batch_size=EMBED_BLOCK, fn_constructor_args=(res.store.url, res.cfg.embedder),
                        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=cpus, num_gpus=gpus)
    vectors = None
    for batch in ds.iter_batches(batch_size=EMBED_BLOCK, batch_format="numpy"):
        if vectors is None:
            vectors = np.empty((len(universe), batch["vector"].shape[1]), dtype=np.float32)
        vectors[batch["row"]] = batch["vector"]
    if vectors is None:
        raise ValueError(f"the embedding pass returned no question vectors for {len(universe)} items")
    log.info("question embeddings of %d items computed on %d actors", len(universe), actors)
    return NeighbourPool(universe, vectors, res.cfg.neighbours)


class _Propose:
    """Actor: reads a block's items from the store and runs every pool on them."""

    def __init__(self, url: str, cfg: dict, neighbours: list):
        import ray

        from nearmiss.mine.registry import POOLS
        from nearmiss.mine.run import MineConfig, Resources
        from nearmiss.store import Store

        mine_cfg = MineConfig.from_dict(cfg)
        pool = ray.get(neighbours[0]) if neighbours else None
        self.store = Store(url, upgrade=False)
        res = Resources(self.store, mine_cfg, [], neighbours=pool)
        self.pools = [POOLS[name](res) for name in mine_cfg.pools]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from sqlalchemy import select

        from nearmiss.store.tables import Item

        ids = [str(i) for i in batch["id"]]
        with self.store.session() as s:
            items = {it.id: it for it in s.scalars(select(Item).where(Item.id.in_(ids)))}
        proposals = [Proposal(items[i]) for i in ids]
        for pool in self.pools:
            pool.propose(proposals)
        return _rows(proposals)


class _Score:
    """Actor: one scorer, its model loaded once; records which model scored in ``by_<scorer>``."""

    def __init__(self, url: str, cfg: dict, name: str):
        from nearmiss.mine.registry import SCORERS
        from nearmiss.mine.run import MineConfig, Resources
        from nearmiss.store import Store

        self.scorer = SCORERS[name](Resources(Store(url, upgrade=False), MineConfig.from_dict(cfg), []))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        proposals = [pickle.loads(b) for b in batch["proposal"]]
        self.scorer.score(proposals)
        by = np.full(len(proposals), self.scorer.model_name, dtype=object)
        return {**batch, **_rows(proposals), f"by_{self.scorer.name}": by}


def _rows(proposals: list[Proposal]) -> dict[str, np.ndarray]:
    return {"id": np.array([p.item.id for p in proposals], dtype=object),
            "proposal": np.array([pickle.dumps(p) for p in proposals], dtype=object)}


@dataclass
class RayBackend:
    """Mining on Ray Data: ``actors`` actors per stage, on ``address`` (see the module docstring)."""

    address: str | None = None
    actors: int = 1

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise ConfigError(f"actors must be >= 1, got {self.actors}")
        if self.address is not None and not self.address.strip():  # never a silent local Ray instead
            raise ConfigError("--address is empty: give host:port of a Ray head (or ray://host:port, or auto), "
                              "or leave it out to start Ray on this machine")
        self.address = self.address or os.environ.get("RAY_ADDRESS") or None
        if self.address:  # refused before a run row is written
            _check_reachable(self.address)

    def run(self, res: Resources, todo: list[Item]) -> Iterator[Batch]:
        import ray
        import ray.data

        cfg = res.cfg
        actors = self.actors * (1 + len(cfg.scorers))  # a pool stage and one stage per scorer
        connect(self.address, min_cpus=actors)
        cluster = ray.cluster_resources()
        gpus = 1 if cluster.get("GPU", 0) >= 1 else 0  # CUDA path: one GPU per model actor
        cpus = min(1.0, cluster.get("CPU", 1) / actors)  # every actor must fit, or the pipeline waits forever
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        pool = _neighbour_pool(res, actors, cpus, gpus) if "neighbours" in cfg.pools else None
        index = pool.kind if pool else None
        shared = [ray.put(pool)] if pool else []  # built once, read by every pool actor
        raw = cfg.as_dict()
        blocks = _block_count(len(todo), cfg.batch_size)
        ds: ray.data.Dataset = ray.data.from_items([{"id": it.id} for it in todo], override_num_blocks=blocks)
        ds = ds.map_batches(_Propose, batch_size=cfg.batch_size, fn_constructor_args=(res.store.url, raw, shared),
                            compute=ray.data.ActorPoolStrategy(size=self.actors), num_cpus=cpus,
                            num_gpus=gpus if "lm" in cfg.pools else 0)
        for name in cfg.scorers:
            ds = ds.map_batches(_Score, batch_size=cfg.batch_size, fn_constructor_args=(res.store.url, raw, name),
                                compute=ray.data.ActorPoolStrategy(size=self.actors), num_cpus=cpus, num_gpus=gpus)
        for rows in ds.iter_batches(batch_size=cfg.batch_size, batch_format="numpy"):
            scored_by = {name: str(rows[f"by_{name}"][0]) for name in cfg.scorers}
            yield Batch([pickle.loads(b) for b in rows["proposal"]], scored_by, index)
