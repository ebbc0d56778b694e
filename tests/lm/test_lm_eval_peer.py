"""The product's zero-shot acc and acc_norm against the real `lm_eval` CLI on the same items (slow;
needs lm-eval's own venv, a bench extra: see bench/lm_eval_peer.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nearmiss.lm.loglik import encode_pairs
from nearmiss.lm.models import lm_path, load_lm
from nearmiss.lm.prompts import continuation, mcqa_prompt
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from lm_eval_peer import LM_EVAL, nearmiss_zero_shot, run_lm_eval  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(not LM_EVAL.exists(), reason=f"lm-eval is not installed at {LM_EVAL} (LM_EVAL=...)")
def test_zero_shot_acc_and_acc_norm_equal_lm_eval_to_four_digits(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    held_out = list(open_source("arc-easy", split="validation", limit=60).items)
    ingest(store, held_out)
    ingest(store, open_source("arc-easy", split="test", limit=4).items)
    ours = nearmiss_zero_shot(store.url, "arc-easy", "smollm2-135m")
    peer = run_lm_eval(held_out, lm_path("smollm2-135m"))
    assert (round(ours["acc"], 4), round(ours["acc_norm"], 4)) == (round(peer.acc, 4), round(peer.acc_norm, 4))
    store.dispose()


@pytest.mark.slow
@pytest.mark.skipif(not LM_EVAL.exists(), reason=f"lm-eval is not installed at {LM_EVAL} (LM_EVAL=...)")
def test_peer_counts_the_positions_lm_eval_feeds():
    """lm-eval feeds each distinct context + continuation[:-1] once, in batches of 16 padded to their longest:
    the count lies between those sequences' own lengths and their padded batches."""
    items = list(open_source("mmlu", split="test", limit=12).items)
    _, tok = load_lm("smollm2-135m", "float32")
    ctx_ids, cont_ids = encode_pairs(tok, [mcqa_prompt(it.question, it.context) for it in items],
                                     [[continuation(c) for c in it.choices] for it in items])
    fed = {tuple(c + t[:-1]) for c, ts in zip(ctx_ids, cont_ids) for t in ts}
    longest, batches = max(map(len, fed)), -(-len(fed) // 16)
    peer = run_lm_eval(items, lm_path("smollm2-135m"))
    assert sum(map(len, fed)) <= peer.positions <= 16 * batches * longest
    assert peer.positions < sum(len(c) + len(t) - 1 for c, ts in zip(ctx_ids, cont_ids) for t in ts)
