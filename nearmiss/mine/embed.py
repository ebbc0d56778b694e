"""Sentence embeddings with a cache in the store, keyed by (model, sha256 of the text).

Vectors are L2-normalised float32, so a dot product is the cosine similarity. Texts
already embedded by the same model are read back instead of recomputed.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from nearmiss.store import Store
from nearmiss.store.tables import Embedding

log = logging.getLogger(__name__)
LOOKUP_CHUNK = 500  # hashes per cache query (bounded IN lists)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(model_name: str, texts: list[str], progress: bool) -> np.ndarray:
    from nearmiss.lm.models import load_embedder

    vectors = load_embedder(model_name).encode(texts, batch_size=64, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=progress)
    return np.asarray(vectors, dtype=np.float32)


def _insert(store: Store, rows: list[dict]) -> None:
    """Insert cache rows, ignoring ones another process wrote meanwhile."""
    dialect = sqlite_insert if store.url.startswith("sqlite") else pg_insert
    with store.session() as s:
        for start in range(0, len(rows), LOOKUP_CHUNK):
            s.execute(dialect(Embedding).on_conflict_do_nothing(), rows[start:start + LOOKUP_CHUNK])


def embed_texts(store: Store, model_name: str, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
    """Normalised embeddings of ``texts`` (one row each, in order), cached in the store."""
    hashes = [text_hash(t) for t in texts]
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, np.ndarray] = {}
    with store.session() as s:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start:start + LOOKUP_CHUNK]
            for h, blob in s.execute(select(Embedding.text_hash, Embedding.vector).where(
                    Embedding.model == model_name, Embedding.text_hash.in_(chunk))):
                found[h] = np.frombuffer(blob, dtype=np.float32)
    missing = {h: t for h, t in zip(hashes, texts) if h not in found}
    if missing:
        vectors = _encode(model_name, list(missing.values()), progress)
        found.update(zip(missing, vectors))
        _insert(store, [{"model": model_name, "text_hash": h, "vector": v.tobytes()} for h, v in zip(missing, vectors)])
    log.debug("embeddings: %d texts, %d from cache, %d computed", len(texts), len(wanted) - len(missing), len(missing))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[h] for h in hashes])
