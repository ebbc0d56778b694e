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
    """Rows of the same length: the grouped pass pads nothing more. A head alone computes its LoRA
    delta on the whole batch, together on its rows of the mixed batch (peft's gather and scatter),
    so the float32 sums round differently: the first step's loss agrees to 1e-6; Adam's normalised
    steps then carry that rounding into the weights, and later losses agree to 1e-3, the adapter
    weights to 1e-2 of their norm (measured: 9e-5 and ...), while two heads differ by far more."""
    jobs = {f"h{k}": [(c, f" {answer}") for c, answer in zip(CONTEXTS, "BCDEFGHI"[k:] + "BCDEFGHI"[:k])]
            for k in range(3)}
    alone, together, w_alone, w_together = _one_by_one_then_together(heads, jobs)

    def rel(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
        diff = sum(((a[k] - b[k]) ** 2).sum() for k in a) ** 0.5
        return float(diff / sum((a[k] ** 2).sum() for k in a) ** 0.5)

    for name in jobs:
        assert together[name][0] == pytest.approx(alone[name][0], rel=1e-6)
        assert together[name] == pytest.approx(alone[name], rel=1e-3)
        assert rel(w_together[name], w_alone[name]) <= 1e-2
    b0 = {k: v for k, v in w_together["h0"].items() if ".lora_B." in k}  # A starts the same in every head
    b1 = {k.replace(".h1.", ".h0."): v for k, v in w_together["h1"].items() if ".lora_B." in k}
    assert len(b0) > 0 and rel(b1, b0) > 0.5, [rel(w_together[n], w_alone[n]) for n in jobs]


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



def test_heads_scored_together_equal_heads_scored_one_by_one(heads):
    """One batched pass over the prefix trees under several adapters and the base model (each
    copy of a row through its own adapter) gives each one's scores alone, to float32 rounding of
    the larger batch; the evaluator's grouped prefetch fills its cache with the same scores."""
    from nearmiss.lm.prompts import continuation
    from nearmiss.train.data import EvalItem
    from nearmiss.train.evaluate import Evaluator

    jobs = {f"s{k}": [(c, f" {answer}") for c, answer in zip(CONTEXTS, "BCDEFGHI"[k:] + "BCDEFGHI"[:k])]
            for k in range(2)}
    heads.train_nll_group(jobs)
    items = [EvalItem(str(i), f"which letter comes after {c}?", None, choices, 0)
             for i, (c, choices) in enumerate(zip("ABC", (("B", "the next one", "Z"), ("C", "no"), ("a letter", "E"))))]
    prompts, choices = [it.prompt for it in items], [[continuation(c) for c in it.choices] for it in items]
    names = ["s0", None, "s1"]
    together = heads.score_group(names, prompts, choices)
    alone = {name: heads.score(name, prompts, choices) for name in names}
    for name in names:
        assert together[name].n_chars == alone[name].n_chars
        for got, want in zip(together[name].logprob, alone[name].logprob):
            assert got == pytest.approx(want, abs=1e-4)
    assert alone["s0"].logprob != alone["s1"].logprob != alone[None].logprob  # each copy took its own adapter
    ev = Evaluator(heads, items)
    ev.prefetch(["s0", "s1"])
    for got, want in zip(ev.scores("s1").logprob, alone["s1"].logprob, strict=True):
        assert got == pytest.approx(want, abs=1e-4)
    for name in jobs:
        heads.delete(name)


def test_the_base_scores_of_the_eval_items_are_computed_once_for_every_seed(heads):
    """A second seed's evaluator (another dev slice, the same eval items) scores only its dev slice
    under the base model and reads the eval items' base scores from the first seed's; both equal
    a fresh evaluation to float32 rounding (the batches differ)."""
    from nearmiss.train.data import EvalItem
    from nearmiss.train.evaluate import Evaluator

    def item(i: int, c: str) -> EvalItem:
        return EvalItem(f"{c}{i}", f"which letter comes after {c}?", None, ("the next one", chr(ord(c) + 1), "Z"), 1)

    items, dev0, dev1 = [item(0, c) for c in "ABC"], [item(1, "D")], [item(2, "E"), item(3, "F")]
    scored: list[int] = []
    score_group = heads.score_group
    heads.score_group = lambda names, contexts, choices: scored.append(len(contexts)) or score_group(names, contexts, choices)
    try:
        shared: dict = {}
        first = Evaluator(heads, items, dev0, shared).scores(None)
        second = Evaluator(heads, items, dev1, shared)
        again, dev = second.scores(None), second.scores(None, part="dev")
    finally:
        del heads.score_group
    assert scored == [len(dev0) + len(items), len(dev1)]  # the second seed scored its dev slice only
    fresh = Evaluator(heads, items, dev1)
    assert again == first
    for part, got_part in (("eval", again), ("dev", dev)):  # another batch than the fresh one's: float32 rounding
        for got, want in zip(got_part.logprob, fresh.scores(None, part=part).logprob, strict=True):
            assert got == pytest.approx(want, abs=1e-4)
