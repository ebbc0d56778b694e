"""Each training method on the bundled model: a tiny run lowers the loss, moves the
adapter's weights and changes the scores; Likra's score is L+ - w*L- from the two heads;
adapters reload to the same scores."""
from __future__ import annotations

import pytest
import torch

from nearmiss.lm.prompts import continuation
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import load_splits
from nearmiss.train.evaluate import Evaluator, metrics
from nearmiss.train.heads import Heads
from nearmiss.train.methods import METHODS
from nearmiss.train.negatives import build_sets

CFG = TrainConfig(eval_limit=4, dtype="float32", lr=2e-3, epochs=1, min_steps=4, batch_size=2, likra_w=0.7,
                  threads=1)
N_PAIRS = 4


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('trainer') / 'store.db'}")
    ingest(store, open_source("arc-easy", split="test", limit=40).items)
    ingest(store, open_source("arc-easy", split="validation", limit=20).items)
    with store.session() as s:
        splits = load_splits(s, CFG.dataset, CFG.train_split, CFG.eval_split, CFG.eval_limit, CFG.seed)
        pairs = build_sets(["distractor"], s, splits.train, CFG, lambda _: [])["distractor"]
    evals = splits.eval
    pairs = sorted(pairs, key=lambda p: len(p.prompt + p.chosen + p.rejected))[:N_PAIRS]  # short: fast steps
    store.dispose()
    return pairs, evals


@pytest.fixture(scope="module")
def heads() -> Heads:
    return Heads(CFG)


@pytest.fixture(scope="module")
def trained(heads, data):
    """Every head any method needs, trained once: role key -> (adapter name, losses)."""
    pairs, _ = data
    out = {}
    for name in METHODS:
        for role, spec in METHODS[name](CFG).heads(pairs).items():
            if spec.key not in out:
                out[spec.key] = spec.train(heads, spec.key, spec.examples, f"test {name} {role}")
    return out


def _adapter_params(heads, name):
    return {n: p.detach().clone() for n, p in heads.model.named_parameters() if f".{name}." in n}


@pytest.mark.parametrize("method", list(METHODS))
def test_train_method_lowers_loss_and_changes_scores(method, heads, data, trained):
    pairs, evals = data
    m = METHODS[method](CFG)
    specs = m.heads(pairs)
    ev = Evaluator(heads, evals)
    before = m.score(ev, {role: None for role in specs})
    after = m.score(ev, {role: spec.key for role, spec in specs.items()})
    for spec in specs.values():
        losses = trained[spec.key]
        assert len(losses) >= CFG.min_steps
        assert sum(losses[-2:]) / 2 < losses[0], f"{method}: loss did not fall: {losses}"
        lora_b = [p for n, p in _adapter_params(heads, spec.key).items() if "lora_B" in n]
        assert lora_b and any(p.abs().max() > 0 for p in lora_b)  # B starts at zero: training moved it
    moved = max(abs(a - b) for ra, rb in zip(after.logprob, before.logprob) for a, b in zip(ra, rb))
    assert moved > 0.05, f"{method}: scores did not change"
    m_after = metrics(after, ev.golds)
    assert 0 <= m_after.acc <= 1 and 0 <= m_after.acc_norm <= 1


def _by_hand(heads, adapter, contexts, choices) -> list[list[float]]:
    """Summed log-probability of each choice's tokens from one plain forward pass per
    (context, choice), under ``adapter`` (the test's own oracle, not the scorer)."""
    out = []
    with heads.active(adapter), torch.no_grad():
        for ctx, chs in zip(contexts, choices):
            row = []
            for ch in chs:
                c = heads.tok(ctx).input_ids
                whole = heads.tok(ctx + ch).input_ids
                logp = torch.log_softmax(heads.net(input_ids=torch.tensor([whole])).logits[0].float(), -1)
                row.append(sum(logp[i - 1, whole[i]].item() for i in range(len(c), len(whole))))
            out.append(row)
    return out


@pytest.mark.parametrize("method", ["likra", "likra_neg"])
def test_likra_score_is_positive_minus_w_negative_by_hand(method, heads, data, trained):
    pairs, evals = data
    evals = evals[:2]
    m = METHODS[method](CFG)
    specs = m.heads(pairs)
    adapters = {role: spec.key for role, spec in specs.items()}
    got = m.score(Evaluator(heads, evals), adapters)
    contexts = [e.prompt for e in evals]
    choices = [[continuation(c) for c in e.choices] for e in evals]
    plus = _by_hand(heads, adapters.get("pos"), contexts, choices)  # neg_only: the base model
    minus = _by_hand(heads, adapters["neg"], contexts, choices)
    want = [[p - CFG.likra_w * n for p, n in zip(rp, rn)] for rp, rn in zip(plus, minus)]
    flat = [x for row in got.logprob for x in row]
    assert flat == pytest.approx([x for row in want for x in row], abs=2e-3)
    assert got.n_chars == [[len(c) for c in e.choices] for e in evals]  # acc_norm: the choice text, as lm-eval


def test_heads_are_adapters_on_one_model(heads, trained):
    from peft import PeftModel

    assert isinstance(heads.model, PeftModel)
    assert set(trained) <= set(heads.names)
    assert heads.model.get_base_model() is heads.base  # one base model, not a copy per head


def test_negative_head_raises_the_wrong_answers_it_saw(heads, data, trained):
    pairs, _ = data
    (neg,) = METHODS["likra_neg"](CFG).heads(pairs).values()
    contexts, wrong = [p.prompt for p in pairs], [[continuation(p.rejected)] for p in pairs]
    base = heads.score(None, contexts, wrong).logprob
    after = heads.score(neg.key, contexts, wrong).logprob
    assert sum(a[0] - b[0] for a, b in zip(after, base)) / len(pairs) > 0.5


def test_adapter_saves_and_reloads_to_the_same_scores(heads, data, trained, tmp_path):
    pairs, evals = data
    name = METHODS["sft"](CFG).heads(pairs)["pos"].key
    ev = Evaluator(heads, evals)
    want = ev.scores(name)
    folder = heads.save(name, tmp_path)
    assert (folder / "adapter_config.json").exists() and (folder / "adapter_model.safetensors").exists()
    heads.load("reloaded", folder)
    try:
        flat = [x for row in ev.scores("reloaded").logprob for x in row]
        assert flat == pytest.approx([x for row in want.logprob for x in row], abs=1e-4)
        assert ev.scores("reloaded").logprob != ev.scores(None).logprob
    finally:
        heads.delete("reloaded")
