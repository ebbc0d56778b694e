"""Train/validation split by item: every question lands on exactly one side."""
from __future__ import annotations

import random
from array import array

from nearmiss.export.select import Selection
from nearmiss.export.spill import Part

SPLITS: tuple[str, ...] = ("train", "validation")


def split_by_item(selection: Selection, val_fraction: float, seed: int) -> dict[str, Part]:
    """Shuffle the distinct prompts with ``seed`` and hold out ``val_fraction`` of them.

    Grouping is by normalised prompt, so two items asking the same question (even with
    different gold answers or from different datasets) never sit on both sides. With two or more
    prompts and ``val_fraction > 0`` each side gets at least one; an empty split is left
    out of the result. Memory: a few bytes per prompt (the shuffle is of their sorted ranks).
    """
    spill = selection.spill
    n = spill.count_prompts()
    ranks = array("q", range(n))
    random.Random(seed).shuffle(ranks)
    n_val = round(n * val_fraction)
    if val_fraction > 0 and n > 1:
        n_val = min(max(n_val, 1), n - 1)
    held = bytearray(n)
    for rank in ranks[:n_val]:
        held[rank] = 1
    spill.hold_out(prompt for rank, prompt in enumerate(spill.prompts()) if held[rank])
    parts = {"train": spill.part(held_out=False), "validation": spill.part(held_out=True)}
    return {name: part for name, part in parts.items() if len(part)}
