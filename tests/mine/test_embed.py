"""Embedding cache in the store, keyed by (model, sha256 of the text)."""
import numpy as np
from sqlalchemy import func, select

from nearmiss.lm.models import embedder_path
from nearmiss.mine.embed import embed_texts, text_hash
from nearmiss.store.tables import Embedding


def _rows(store, model=None):
    with store.session() as s:
        q = select(func.count()).select_from(Embedding)
        return s.scalar(q.where(Embedding.model == model) if model else q)


def test_vectors_are_cached_per_model_and_text(store):
    texts = ["The sun is a star.", "Water boils at 100 C.", "The sun is a star."]
    first = embed_texts(store, "all-MiniLM-L6-v2", texts)
    assert first.shape == (3, 384) and np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first[0], first[2]) and _rows(store) == 2
    with store.session() as s:
        assert s.get(Embedding, ("all-MiniLM-L6-v2", text_hash(texts[1]))) is not None
    again = embed_texts(store, "all-MiniLM-L6-v2", [texts[1], "A new sentence."])
    assert np.array_equal(again[0], first[1]) and _rows(store) == 3  # only the new text was added
    # the same weights under another name are another cache key
    other = embed_texts(store, str(embedder_path("all-MiniLM-L6-v2")), texts[:1])
    assert _rows(store, str(embedder_path("all-MiniLM-L6-v2"))) == 1
    assert np.allclose(other[0], first[0], atol=1e-5)
    assert float(first[0] @ first[1]) < 0.5  # unrelated sentences are not near
