"""Intervals and paired comparisons of learning-curve points.

Every point of a run is evaluated on the same items under the same seeds, and stores, per
seed, which eval items it got right. A bootstrap replicate draws the eval items with
replacement and the seeds with replacement, and computes every point's accuracy on that
same draw (the mean over the drawn seeds of the accuracy on the drawn items). Intervals are
the 2.5 and 97.5 percentiles over ``bootstrap`` replicates; a difference between two points,
or between two gains per example, is computed replicate by replicate on the same draws
(paired), so what the items or seeds have in common cancels. A point whose every item has the
same outcome in every seed has an interval of zero width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Key = tuple[str, str, int]  # method, negatives, size
METHOD = ("95% intervals: percentiles of bootstrap replicates that resample the eval items and the seeds; "
          "a difference is computed on the same replicates for both sides (paired).")


@dataclass(frozen=True)
class Draws:
    """Bootstrap draws: how often each eval item and each seed is drawn, per replicate."""

    items: np.ndarray  # (B, n_items)
    seeds: np.ndarray  # (B, n_seeds)

    @classmethod
    def make(cls, n_items: int, n_seeds: int, replicates: int, seed: int = 0) -> Draws:
        rng = np.random.default_rng(seed)
        return cls(rng.multinomial(n_items, [1 / n_items] * n_items, size=replicates).astype(np.float64),
                   rng.multinomial(n_seeds, [1 / n_seeds] * n_seeds, size=replicates).astype(np.float64))

    def accuracy(self, correct: list[str]) -> np.ndarray:
        """Per replicate, the accuracy of a point given its per-seed correctness strings."""
        hits = np.array([[ch == "1" for ch in seed_row] for seed_row in correct], dtype=np.float64)  # (k, n)
        per_seed = self.items @ hits.T / hits.shape[1]  # (B, k)
        return (per_seed * self.seeds).sum(axis=1) / hits.shape[0]


def interval(replicates: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval."""
    lo, hi = np.percentile(replicates, [2.5, 97.5])
    return float(lo), float(hi)


def best_gain(by_size: dict[int, np.ndarray | float], low_data_max: int):
    """The best (acc(n) - acc(0)) / n over sizes 0 < n <= low_data_max (element-wise over
    replicates when given arrays); None without size 0 or without such a size."""
    if 0 not in by_size:
        return None
    gains = [(acc - by_size[0]) / n for n, acc in by_size.items() if 0 < n <= low_data_max]
    if not gains:
        return None
    return np.max(np.stack(gains), axis=0) if isinstance(gains[0], np.ndarray) else max(gains)


@dataclass(frozen=True)
class Comparison:
    """``a - b = d [lo, hi]``: accuracy at one size, or gain per example (size None)."""

    a: str
    b: str
    size: int | None
    d: float
    lo: float
    hi: float

    def line(self) -> str:
        what = f"at {self.size}" if self.size is not None else "gain/example"
        fmt = "+.3f" if self.size is not None else "+.5f"
        return f"{self.a} − {self.b} {what} = {self.d:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}]"

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "size": self.size, "d": self.d, "lo": self.lo, "hi": self.hi,
                "text": self.line()}


def comparisons(estimates: dict[Key, float], reps: dict[Key, np.ndarray], low_data_max: int) -> list[Comparison]:
    """The paired comparisons a run states: at each trained size, every negative set against the
    reference set (``distractor`` when present, else the first) within each method, and every
    method against SFT on the same set; then the same two kinds for gain per example."""
    curves = sorted({(m, n) for m, n, _ in estimates})
    sets = sorted({n for _, n in curves})
    ref = "distractor" if "distractor" in sets else sets[0]
    pairs = [((m, n), (m, ref)) for m, n in curves if m != "sft" and n != ref and (m, ref) in curves]
    pairs += [((m, n), ("sft", n)) for m, n in curves if m != "sft" and ("sft", n) in curves]
    out = []
    for (ma, na), (mb, nb) in pairs:
        name_a, name_b = f"{ma}/{na}", "sft" if mb == "sft" else f"{mb}/{nb}"
        sizes = sorted(z for m, n, z in estimates if (m, n) == (ma, na) and z > 0 and (mb, nb, z) in estimates)
        for z in sizes:
            diff = reps[(ma, na, z)] - reps[(mb, nb, z)]
            out.append(Comparison(name_a, name_b, z, estimates[(ma, na, z)] - estimates[(mb, nb, z)],
                                  *interval(diff)))
        gains = [best_gain({z: src[(m, n, z)] for m2, n2, z in estimates if (m2, n2) == (m, n)}, low_data_max)
                 for src in (estimates, reps) for m, n in ((ma, na), (mb, nb))]
        if all(g is not None for g in gains):
            out.append(Comparison(name_a, name_b, None, gains[0] - gains[1], *interval(gains[2] - gains[3])))
    return sorted(out, key=lambda c: (c.size is None, c.size or 0, c.b, c.a))
