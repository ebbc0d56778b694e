"""Timing and peak-memory measurement shared by the bench scripts."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def rss() -> int:
    """Resident memory of this process, in bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak memory rise in MiB) of one call: resident memory on CPU,
    allocated CUDA memory when a GPU is present."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    start_rss, peak, stop = rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss() - start_rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    out = fn()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if cuda:
        peak[0] = torch.cuda.max_memory_allocated() - base
    return out, seconds, peak[0] / 2**20
