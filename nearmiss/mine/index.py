"""Nearest-neighbour search over normalised embeddings with faiss.

``auto`` picks an exact inner-product index for up to ``exact_limit`` vectors and an HNSW
graph past that (no training pass, recall ~0.99 at the default ``ef_search``); ``ivf`` is
there for very large sets where memory matters more than recall.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nearmiss.registry import Registry
from nearmiss.settings import check_choices, setting

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)


def _flat(vectors: np.ndarray, _: IndexConfig) -> faiss.Index:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def _hnsw(vectors: np.ndarray, cfg: IndexConfig) -> faiss.Index:
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = cfg.ef_search
    index.add(vectors)
    return index


def _ivf(vectors: np.ndarray, cfg: IndexConfig) -> faiss.Index:
    import faiss

    nlist = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // 39))  # faiss wants >= 39 points a list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    index.nprobe = cfg.nprobe
    return index


BUILDERS: Registry[Callable[[np.ndarray, IndexConfig], faiss.Index]] = Registry("index kind", {
    "flat": _flat, "hnsw": _hnsw, "ivf": _ivf})
KINDS = Registry.of_names("index kind", ("auto", *BUILDERS))


@dataclass(frozen=True)
class IndexConfig:
    kind: str = setting("auto", "Index kind: flat (exact), hnsw, ivf, or auto (flat up to exact_limit vectors, hnsw "
                                "past it).", KINDS)
    exact_limit: int = setting(100_000, "Largest set searched exactly under kind=auto.")
    hnsw_m: int = setting(32, "HNSW graph degree.")
    ef_search: int = setting(128, "HNSW search breadth (higher: better recall, slower).")
    nprobe: int = setting(16, "IVF lists visited per query.")

    def __post_init__(self) -> None:
        check_choices(self)


def choose_kind(n: int, cfg: IndexConfig) -> str:
    if cfg.kind != "auto":
        return cfg.kind
    return "flat" if n <= cfg.exact_limit else "hnsw"


@dataclass
class VectorIndex:
    """A faiss index and which kind was built."""

    index: faiss.Index
    kind: str
    size: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row ids) of the ``k`` nearest stored vectors per query; -1 where fewer exist."""
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.size))

    def __getstate__(self) -> dict:
        """Pickled as faiss's own serialisation (a distributed run ships one index to every worker)."""
        import faiss

        return {**self.__dict__, "index": faiss.serialize_index(self.index)}

    def __setstate__(self, state: dict) -> None:
        import faiss

        self.__dict__.update(state, index=faiss.deserialize_index(state["index"]))


def build_index(vectors: np.ndarray, cfg: IndexConfig = IndexConfig()) -> VectorIndex:
    """An index over ``vectors`` (rows, L2-normalised), of the kind ``cfg`` asks for."""
    kind = choose_kind(len(vectors), cfg)
    index = BUILDERS[kind](np.ascontiguousarray(vectors, dtype=np.float32), cfg)
    log.info("faiss index: %s over %d vectors", kind, len(vectors))
    return VectorIndex(index, kind, len(vectors))
