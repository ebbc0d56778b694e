"""Process-wide model settings: the allocator keeps what a forward frees."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# A few MLP blocks at the scorer's CPU batch shape (16 rows x 126 nodes), run 10 times after a
# first warm-up; prints the page faults those 10 took.
FORWARDS = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from curator.models import keep_freed_memory
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


def _page_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", FORWARDS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc")
def test_kept_memory_spares_repeated_forwards_their_page_faults():
    default, kept = _page_faults("default"), _page_faults("keep")
    assert kept * 4 < default, (kept, default)
