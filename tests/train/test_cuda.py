"""The CUDA paths: the shared-prompt scorer on a GPU gives the CPU's numbers, and a tiny learning-curve run
trains and stores its points there. Skipped where no GPU is present (run them with `-m cuda` on one)."""
from __future__ import annotations

import copy

import pytest
import torch

from nearmiss.lm.loglik import score_continuations
from nearmiss.lm.models import load_lm
from nearmiss.lm.prompts import continuation, mcqa_prompt
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from tests.train.test_curves import _check_run, _run_tiny

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


def test_scorer_on_cuda_matches_the_cpu():
    model, tok = load_lm("smollm2-135m", "float32")  # on the GPU where there is one
    assert next(model.parameters()).device.type == "cuda"
    items = list(open_source("arc-easy", split="validation", limit=20).items)
    contexts = [mcqa_prompt(it.question) for it in items]
    conts = [[continuation(c) for c in it.choices] for it in items]
    gpu = score_continuations(model, tok, contexts, conts)
    cpu = score_continuations(copy.deepcopy(model).to("cpu"), tok, contexts, conts)
    for row_gpu, row_cpu in zip(gpu, cpu, strict=True):
        for a, b in zip(row_gpu, row_cpu, strict=True):
            assert a.n_tokens == b.n_tokens and a.logprob == pytest.approx(b.logprob, abs=2e-3)


def test_a_tiny_curve_trains_on_the_gpu(tmp_path):
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()  # the scorer test's cached model may still be there
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    _check_run(store, *_run_tiny(store, tmp_path / "runs"))
    assert torch.cuda.max_memory_allocated() - before > 100 * 2**20  # the run's own model copy lived on the GPU
    store.dispose()
