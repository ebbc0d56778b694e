"""Process-wide model settings: the allocator keeps what a forward frees; the caches PyTorch and
oneDNN keep per matmul shape stay small."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
import torch

# A few MLP blocks at the scorer's CPU batch shape (16 rows x 126 nodes), run 10 times after a
# first warm-up; prints the page faults those 10 took.
FORWARDS = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from nearmiss.lm.models import keep_freed_memory
    assert keep_freed_memory()
x, up, down = torch.randn(2016, 576), torch.randn(1536, 576), torch.randn(576, 1536)
def forward(x):
    for _ in range(4):
        h = torch.nn.functional.silu(torch.nn.functional.linear(x, up)) * torch.nn.functional.linear(x, up)
        x = x + torch.nn.functional.linear(h, down) * 1e-3
    return x
forward(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    forward(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _last_number(script: str, mode: str) -> int:
    """Run ``script`` in a fresh interpreter with ``mode`` as its argument; the number it prints last."""
    done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc")
def test_kept_memory_spares_repeated_forwards_their_page_faults():
    default, kept = _last_number(FORWARDS, "default"), _last_number(FORWARDS, "keep")
    assert kept * 4 < default, (kept, default)


# bf16 forwards of the bundled LM (2 of its layers) at 400 different widths (as a scorer's packed batches vary);
# prints the resident-memory rise (MiB) after a warm-up forward.
WIDTHS = """
import os, sys
if sys.argv[1] == "unbounded":  # the defaults of PyTorch and oneDNN
    os.environ.update(LRU_CACHE_CAPACITY="1024", ONEDNN_PRIMITIVE_CACHE_CAPACITY="1024")
import torch
from nearmiss.lm.models import load_lm
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * 4096
model, _ = load_lm("smollm2-135m", "bfloat16")
model.model.layers = model.model.layers[:2]  # the same matmul shapes, 15x less work
def forward(width):
    with torch.inference_mode():
        model(input_ids=torch.randint(0, 1000, (1, width)), use_cache=False, logits_to_keep=1)
forward(20)
before = rss()
for width in range(20, 420):
    forward(width)
print((rss() - before) // 2**20)
"""


def test_many_batch_shapes_do_not_grow_memory_in_bf16():
    from nearmiss.lm.models import auto_dtype

    if auto_dtype() != "bfloat16":
        pytest.skip("bf16 is emulated on this CPU (float32 is what it runs)")
    capped, unbounded = _last_number(WIDTHS, "capped"), _last_number(WIDTHS, "unbounded")
    assert 4 * capped < unbounded, (capped, unbounded)


@pytest.mark.parametrize(("bf16", "picked"), [(2.0, "bfloat16"), (1.1, "float32"), (0.15, "float32")])
def test_auto_takes_the_number_format_measured_faster(monkeypatch, bf16, picked):
    """bf16 only where its matmuls run at least 1.2x float32's (speeds relative to float32)."""
    from nearmiss.lm import speed
    from nearmiss.lm.models import auto_dtype

    monkeypatch.setattr(speed, "matmul_gflops", lambda dtype, **_: 100.0 * (bf16 if dtype == torch.bfloat16 else 1))
    speed.faster_cpu_dtype.cache_clear()
    try:
        assert auto_dtype("auto", "cpu") == picked
        assert auto_dtype("float32", "cpu") == "float32"
    finally:
        speed.faster_cpu_dtype.cache_clear()


@pytest.mark.parametrize("capability", ["avx2", "default"])
def test_auto_takes_float32_when_the_kernels_are_capped_below_avx512(capability):
    """Under ``./dev.sh test-avx2`` an AVX-512-BF16 CPU runs AVX2 kernels, where bf16 is emulated: measured slower."""
    out = subprocess.run([sys.executable, "-c", "from nearmiss.lm.models import auto_dtype; print(auto_dtype())"],
                         env={**os.environ, "ATEN_CPU_CAPABILITY": capability, "ONEDNN_MAX_CPU_ISA": "AVX2"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["float32"]
