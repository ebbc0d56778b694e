"""The machine's matmul speed per number format, measured: the roof a run is compared with,
and what ``auto`` dtype picks on a CPU (the faster format, not the one the CPU's flags suggest)."""
from __future__ import annotations

import time
from functools import lru_cache

import torch

BF16_MARGIN = 1.2  # bf16 is picked only when its matmuls run this much faster (it also costs casts)


def matmul_gflops(dtype: torch.dtype, device: str = "cpu", size: tuple[int, int, int] = (512, 576, 1536),
                  seconds: float = 0.5) -> float:
    """Measured matmul speed (GFLOP/s) at the current torch threads, on a shape like the bundled
    model's MLP (tokens x hidden @ hidden x intermediate)."""
    m, k, n = size
    a, b = torch.randn(m, k, dtype=dtype, device=device), torch.randn(k, n, dtype=dtype, device=device)
    a @ b  # warm up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        done += 1
    if device == "cuda":
        torch.cuda.synchronize()
    return 2.0 * m * k * n * done / (time.perf_counter() - t0) / 1e9


@lru_cache(maxsize=1)
def faster_cpu_dtype() -> str:
    """bfloat16 where this CPU's bf16 matmuls (AMX, AVX512-BF16) run ``BF16_MARGIN`` times faster
    than float32 at the current threads, else float32 (emulated bf16 runs several times slower).
    Measured once per process (about half a second)."""
    fp32 = matmul_gflops(torch.float32, seconds=0.2)
    bf16 = matmul_gflops(torch.bfloat16, seconds=0.2)
    return "bfloat16" if bf16 > BF16_MARGIN * fp32 else "float32"
