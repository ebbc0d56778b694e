"""The shared-prompt log-likelihood scorer gives lm-eval-harness's numbers, on plain and PEFT models."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nearmiss.lm import loglik
from nearmiss.lm.loglik import score_continuations
from nearmiss.lm.loglik_baseline import score_continuations_baseline
from nearmiss.lm.prompts import continuation, mcqa_prompt


def _flat(scores):
    return [(s.logprob, s.n_tokens, s.n_chars) for row in scores for s in row]


# How far two float32 computations of the same log-likelihood may drift: summation order only.
# The packed prefix-tree rows and the one-sequence-a-choice baseline add the same terms in other
# orders, and so do AVX2 and AVX-512 kernels (an AVX2-only EPYC differed by 1.2e-4 on a 20.9-nat
# sum under the old abs=1e-4). Measured on 160 ARC-Easy choices, with the AVX2 kernels and with
# the scalar ones (ATEN_CPU_CAPABILITY=default, MKL SSE4_2): relative drift <= 1.9e-5, at most 26 %
# of the tolerance below. A real error moves a score by far more: a mask that lets a continuation
# see its siblings shifts scores by up to 20 nats (test_a_broken_tree_is_caught).
REL = 5e-5  # relative to the summed log-likelihood
ABS = 1e-4  # floor for sums near 0 (one likely token): a few float32 ulps of the logits it came from


def _assert_same(ours, ref):
    for (a, na, ca), (b, nb, cb) in zip(_flat(ours), _flat(ref), strict=True):
        assert (na, ca) == (nb, cb)
        assert a == pytest.approx(b, rel=REL, abs=ABS)


@pytest.fixture
def mixed(arc_items):
    """Real ARC prompts plus the awkward cases: no continuations, an empty one, a trailing
    space in the context, an empty context, a long multi-token continuation."""
    contexts = [mcqa_prompt(it.question) for it in arc_items[:3]] + ["Question: Is the sky blue?\nAnswer: ", "", "Q:"]
    conts = [[continuation(c) for c in it.choices] for it in arc_items[:3]]
    conts += [["Yes", "No, it is green"], ["The", " sun rises in the east every single morning."], []]
    conts[2] = conts[2] + [""]
    return contexts, conts


def test_matches_lm_eval_harness_in_fp32(lm32, mixed):
    model, tok = lm32
    ours = score_continuations(model, tok, *mixed, batch_tokens=40)
    _assert_same(ours, score_continuations_baseline(model, tok, *mixed))
    assert ours[2][-1].logprob == 0.0 and ours[2][-1].n_tokens == 0 and ours[-1] == []
    assert all(s.logprob < 0 for row in ours[:3] for s in row if s.n_tokens)


def test_rows_split_when_continuations_overflow(lm32, mixed, monkeypatch):
    model, tok = lm32
    whole = score_continuations(model, tok, *mixed)
    monkeypatch.setattr(loglik, "ROW_TOKENS", 4)
    monkeypatch.setattr(loglik, "BLOCK_TOKENS", 4)  # every continuation in a row of its own
    _assert_same(score_continuations(model, tok, *mixed, batch_tokens=60), whole)


@pytest.mark.slow
def test_gold_is_preferred_more_often_than_chance(lm32, arc_items):
    model, tok = lm32
    scores = score_continuations(model, tok, [mcqa_prompt(it.question) for it in arc_items],
                                 [[continuation(c) for c in it.choices] for it in arc_items])
    hits = sum(max(range(len(row)), key=lambda j: row[j].logprob) == it.gold for row, it in zip(scores, arc_items))
    assert hits / len(arc_items) > 0.35  # 4 choices: chance is 0.25


def test_works_on_a_peft_model_and_sees_the_adapters(lm32, arc_items):
    from peft import LoraConfig, get_peft_model

    base, tok = lm32
    contexts = [mcqa_prompt(it.question) for it in arc_items[:3]]
    conts = [[continuation(c) for c in it.choices] for it in arc_items[:3]]
    before = score_continuations(base, tok, contexts, conts)
    peft = get_peft_model(copy.deepcopy(base), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], lora_dropout=0.5))
    torch.manual_seed(0)
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)  # adapters that change the output
    peft.train()
    ours = score_continuations(peft, tok, contexts, conts)
    assert peft.training  # mode restored
    peft.eval()
    _assert_same(ours, score_continuations_baseline(peft, tok, contexts, conts))
    assert max(abs(a[0] - b[0]) for a, b in zip(_flat(ours), _flat(before))) > 0.01


@pytest.mark.slow  # bf16 is emulated (slow) on CPUs without native bf16
def test_bf16_ranks_like_fp32(arc_items):
    from nearmiss.lm.models import load_lm

    contexts = [mcqa_prompt(it.question) for it in arc_items[:30]]
    conts = [[continuation(c) for c in it.choices] for it in arc_items[:30]]
    fp32 = score_continuations(*load_lm("smollm2-135m", "float32"), contexts, conts)
    bf16 = score_continuations(*load_lm("smollm2-135m", "bfloat16"), contexts, conts)
    argmax = [[max(range(len(r)), key=lambda j: r[j].logprob) for r in s] for s in (fp32, bf16)]
    assert sum(a == b for a, b in zip(*argmax)) >= 0.85 * len(contexts)


def test_a_shared_header_is_fed_once_and_scores_the_same(lm32, arc_items):
    model, tok = lm32
    header = "The following are questions about science, with answers.\n\n"
    contexts = [header + mcqa_prompt(it.question) for it in arc_items[:4]]
    conts = [[continuation(c) for c in it.choices] for it in arc_items[:4]]
    ctx_ids, cont_ids = loglik.encode_pairs(tok, contexts, conts)
    rows = loglik._rows(ctx_ids, cont_ids, 10_000, 10_000)
    fed_once_per_context = sum(len(c) + sum(len(k) - 1 for k in ks) for c, ks in zip(ctx_ids, cont_ids))
    header_tokens = len(tok(header.rstrip())["input_ids"])
    assert len(rows) == 1 and len(rows[0].tokens) <= fed_once_per_context - 3 * (header_tokens - 1)
    _assert_same(score_continuations(model, tok, contexts, conts),
                 score_continuations_baseline(model, tok, contexts, conts))


def test_a_long_context_is_fed_once_for_all_its_continuations(lm32):
    """A context longer than a packed row is not repeated per continuation (it was, 4x the positions on MMLU)."""
    model, tok = lm32
    contexts = ["Passage: " + " ".join(f"word{i}" for i in range(150)) + "\nQuestion: Which word came first?\nAnswer:"]
    conts = [[f" word{i}" for i in range(14)]]
    ctx_ids, cont_ids = loglik.encode_pairs(tok, contexts, conts)
    assert len(ctx_ids[0]) > loglik.ROW_TOKENS
    assert loglik.fed_tokens(tok, contexts, conts).shared <= len(ctx_ids[0]) + sum(map(len, cont_ids[0]))
    _assert_same(score_continuations(model, tok, contexts, conts),
                 score_continuations_baseline(model, tok, contexts, conts))


def _siblings_visible(monkeypatch):
    """A plain causal mask over the packed row: a continuation sees the nodes of those before it."""
    monkeypatch.setattr(loglik._Row, "mask", lambda self, width: np.tril(np.ones((width, width), dtype=bool)))


def _positions_not_depths(monkeypatch):
    """Position ids counted along the packed row instead of the depth in the tree."""
    batch_inputs = loglik._batch_inputs

    def counted(*args):
        inputs = batch_inputs(*args)
        ids = inputs["input_ids"]
        inputs["position_ids"] = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        return inputs

    monkeypatch.setattr(loglik, "_batch_inputs", counted)


@pytest.mark.parametrize("breakage", [_siblings_visible, _positions_not_depths])
def test_a_broken_tree_is_caught(lm32, arc_items, monkeypatch, breakage):
    """The tolerance above still fails a scorer whose prefix tree is wired wrong."""
    model, tok = lm32
    contexts = [mcqa_prompt(it.question) for it in arc_items[:3]]
    conts = [[continuation(c) for c in it.choices] for it in arc_items[:3]]
    ref = score_continuations_baseline(model, tok, contexts, conts)
    breakage(monkeypatch)
    with pytest.raises(AssertionError):
        _assert_same(score_continuations(model, tok, contexts, conts), ref)
