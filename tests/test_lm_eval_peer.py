"""The product's zero-shot acc and acc_norm against the real `lm_eval` CLI on the same items (slow;
needs lm-eval's own venv, a bench extra: see bench/lm_eval_peer.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from curator.ingest import ingest
from curator.loaders import open_source
from curator.models import lm_path
from curator.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
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
