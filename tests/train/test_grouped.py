"""Heads trained together (one grouped pass) equal heads trained one by one: the same seeded
init, example order and AdamW steps, the base run once over the rows of every head."""
from __future__ import annotations

import pytest
import torch

from nearmiss.train.config import TrainConfig
from nearmiss.train.heads import Heads

CONTEXTS = [f"Question: which letter comes after {c}?\nAnswer:" for c in "ABCDEFGH"]


@pytest.fixture(scope="module")
def heads() -> Heads:
    return Heads(TrainConfig(dtype="float32", threads=1, epochs=1, min_steps=3, batch_size=2))


def _weights(heads: Heads, name: str) -> dict[str, torch.Tensor]:
    assert heads.model is not None
    return {k: v.detach().clone() for k, v in heads.model.state_dict().items() if f".{name}." in k}


def _one_by_one_then_together(heads: Heads, jobs: dict[str, list[tuple[str, str]]]):
    alone, weights_alone = {}, {}
    for name, examples in jobs.items():
        alone[name] = heads.train_nll(name, examples)
        weights_alone[name] = _weights(heads, name)
    for name in jobs:
        heads.delete(name)
    together = heads.train_nll_group(jobs)
    weights_together = {name: _weights(heads, name) for name in jobs}
    for name in jobs:
        heads.delete(name)
    return alone, together, weights_alone, weights_together


def test_heads_of_equal_length_trained_together_equal_heads_trained_alone(heads):
    """Rows of the same length: the grouped pass pads nothing more, so every head's losses and
    adapter weights match training it alone to float32 rounding."""
    jobs = {f"h{k}": [(c, f" {answer}") for c, answer in zip(CONTEXTS, "BCDEFGHI"[k:] + "BCDEFGHI"[:k])]
            for k in range(3)}
    alone, together, w_alone, w_together = _one_by_one_then_together(heads, jobs)
    for name in jobs:
        assert together[name] == pytest.approx(alone[name], rel=1e-6)
        assert max((w_alone[name][k] - w_together[name][k]).abs().max().item() for k in w_alone[name]) <= 1e-6
    assert len(w_alone["h0"]) > 0 and not torch.equal(w_together["h0"][next(iter(w_together["h0"]))],
                                                      w_together["h1"][next(iter(w_together["h1"]))])


def test_heads_of_different_lengths_train_together_to_the_same_losses(heads):
    """Longer answers in one head pad the others' rows: float32 rounding of the padded attention
    only. The first step's loss agrees to 1e-5; Adam's normalised steps then carry that rounding
    into the weights, and later losses agree to 1e-3 (measured: 1.4e-4). A head with more
    examples trains in its own pass."""
    jobs = {"short": [(c, " yes") for c in CONTEXTS[:4]],
            "long": [(c, " no, not at all, it is another letter") for c in CONTEXTS[:4]],
            "more": [(c, " maybe") for c in CONTEXTS]}  # 8 examples: 4 steps of 2, the others 3 (min_steps)
    alone, together, _, _ = _one_by_one_then_together(heads, jobs)
    for name in jobs:
        assert len(together[name]) == len(alone[name])
        assert together[name][0] == pytest.approx(alone[name][0], rel=1e-5)
        assert together[name] == pytest.approx(alone[name], rel=1e-3)
    assert together["short"] != together["long"]


def test_a_curve_point_trains_its_heads_together_when_asked(tmp_path):
    from sqlalchemy import select

    from nearmiss.store import Store
    from nearmiss.store.tables import CurvePoint
    from nearmiss.train.curves import run_curves
    from tests.train.test_curves import TINY, _load

    store = _load(Store(f"sqlite:///{tmp_path / 'store.db'}"))
    cfg = TrainConfig(**{**TINY, "sizes": [0, 2], "heads_together": "yes"}, out_dir=str(tmp_path / "runs"))
    run_id = run_curves(store, cfg)
    with store.session() as s:
        heads = {p.method: p.meta["heads"] for p in s.scalars(select(CurvePoint).where(
            CurvePoint.run_id == run_id, CurvePoint.size == 2))}
    assert {role: h["trained_with"] for role, h in heads["likra"].items()} == {"pos": 2, "neg": 2}
    assert heads["sft"]["pos"] == heads["likra"]["pos"]  # the shared positive head, trained once
    store.dispose()
