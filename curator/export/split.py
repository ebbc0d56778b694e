"""Train/validation split by item: every question lands on exactly one side."""
from __future__ import annotations

import random

from curator.export.select import Example
from curator.store.schema import normalize_answer

SPLITS: tuple[str, ...] = ("train", "validation")


def split_by_item(examples: list[Example], val_fraction: float, seed: int) -> dict[str, list[Example]]:
    """Shuffle the distinct prompts with ``seed`` and hold out ``val_fraction`` of them.

    Grouping is by normalised prompt, so two items asking the same question (even with
    different gold answers or from different datasets) never sit on both sides. With two or more
    prompts and ``val_fraction > 0`` each side gets at least one; an empty split is left
    out of the result.
    """
    groups = sorted({normalize_answer(ex.prompt) for ex in examples})
    random.Random(seed).shuffle(groups)
    n_val = round(len(groups) * val_fraction)
    if val_fraction > 0 and len(groups) > 1:
        n_val = min(max(n_val, 1), len(groups) - 1)
    held_out = set(groups[:n_val])
    out = {"train": [ex for ex in examples if normalize_answer(ex.prompt) not in held_out],
           "validation": [ex for ex in examples if normalize_answer(ex.prompt) in held_out]}
    return {name: rows for name, rows in out.items() if rows}
