"""faiss index choice and search quality."""
import numpy as np
import pytest

from nearmiss.errors import ConfigError
from nearmiss.mine.index import IndexConfig, build_index


def _unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, as sentence embeddings are (topics), not uniform noise."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(42).normal(size=(40, d))
    v = (centers[rng.integers(0, 40, n)] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_auto_is_exact_for_small_sets_and_finds_each_vector_itself():
    vectors = _unit(300)
    index = build_index(vectors)
    assert index.kind == "flat"
    sims, ids = index.search(vectors[:20], 3)
    assert list(ids[:, 0]) == list(range(20)) and np.allclose(sims[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("cfg, kind", [(IndexConfig(exact_limit=500), "hnsw"), (IndexConfig(kind="ivf"), "ivf")])
def test_approximate_indexes_agree_with_exact_search(cfg, kind):
    vectors, queries = _unit(3000), _unit(50, seed=1)
    approx = build_index(vectors, cfg)
    assert approx.kind == kind
    _, exact_ids = build_index(vectors).search(queries, 10)
    _, got = approx.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact_ids, got)])
    assert recall >= 0.8


def test_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="flat, hnsw, ivf"):
        IndexConfig(kind="annoy")
