"""Fixtures of the miner tests (imported by them): the bundled, real models and data, loaded once per session."""
from __future__ import annotations

import pytest

from curator.loaders import open_source


@pytest.fixture(scope="session")
def lm32():
    """SmolLM2-135M in fp32 (exact comparisons) and its tokenizer."""
    from curator.models import load_lm

    return load_lm("smollm2-135m", "float32")


@pytest.fixture(scope="session")
def arc_items():
    """The first 60 ARC-Easy validation items, as loaded."""
    return list(open_source("arc-easy", split="validation", limit=60).items)
