"""Intervals and paired comparisons of learning-curve points.

Every point of a run is evaluated on the same items under the same seeds, and stores, per
seed, which eval items it got right. A bootstrap replicate draws the eval items with
replacement and the seeds with replacement, and computes every point's accuracy on that
same draw (the mean over the drawn seeds of the accuracy on the drawn items). Intervals are
the 2.5 and 97.5 percentiles over ``bootstrap`` replicates; a difference between two points,
or between two gains per example, is computed replicate by replicate on the same draws
(paired), so what the items or seeds have in common cancels. A point whose every item has the
same outcome in every seed has an interval of zero width.

**Deciding under repeated looks** (``nearmiss.train.decide``). A run told to decide comparisons
adds seeds one at a time and looks at each comparison after every seed from the second on, up to
``max_seeds``: K = max_seeds − 1 planned looks. Looking after every seed at a plain 95% interval
would decide a true zero difference far more often than 5% of the time (each look is another
chance), so the rule uses **alpha spending** (Lan & DeMets) with **repeated confidence intervals**
(Jennison & Turnbull): a spending function gives the share α(t) of α = 0.05 spent by information
fraction t = seeds / max_seeds, and look k's interval is d ± c_k·se. se is the standard deviation
of the paired bootstrap replicates over items and seeds (the same draws as above), never below the
two-way ANOVA's unbiased estimate (:class:`Components`: the bootstrap undercounts the seeds' part by
a factor 1 − 1/seeds, a half at two seeds). c_k is the boundary that spends α(t_k) − α(t_{k−1}) at
look k given the earlier looks, computed for the standardised statistic of a sum over seeds
(correlation √(t_j / t_k) between looks), then read as the Student t quantile of the same tail at
the Welch-Satterthwaite degrees of freedom of se (with two or three seeds whose variance dominates,
se itself is a guess of one or two degrees of freedom). Then every look's interval covers the true
difference at once with probability ≥ 95%, so a decision taken at any look (or when the time budget
ends) keeps its coverage. The eval items are the same at every look, which makes consecutive looks
more alike than that model assumes, never less; the simulation in tests/train/test_decide.py checks
coverage ≥ 95% where the seeds' variance dominates (where plain 95% intervals at every look miss
more often) and where the items' does.

Why these choices: the default **O'Brien-Fleming-type** spending α(t) = 2 − 2Φ(z₀.₉₇₅/√t) spends
almost nothing at the first looks, where two or three seeds estimate the seeds' variance poorly,
and keeps the last boundary near 1.96, so a run that goes to its seed cap loses little against a
single fixed-size test; **Pocock-type** spending α(t) = α·ln(1 + (e − 1)t) spends evenly and stops
clear effects earlier at the price of wider final intervals. A normal boundary with the bootstrap's
standard error is used rather than bootstrap percentiles because the first looks spend far less
than one replicate in a thousand resolves. Alpha spending was chosen over a confidence sequence
because the looks are few and planned (one per seed, at most max_seeds), where spending is tighter
than a sequence valid at every sample size. Coverage is per comparison, not family-wise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from nearmiss.registry import Registry

Key = tuple[str, str, int]  # method, negatives, size
Count = int | np.ndarray  # a count, or counts element-wise
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
        return cls(_counts(rng, n_items, replicates), _counts(rng, n_seeds, replicates))


    def accuracy(self, correct: list[str]) -> np.ndarray:
        """Per replicate, the accuracy of a point given its per-seed correctness strings."""
        return self.mean(hits_of(correct))

    def mean(self, hits: np.ndarray) -> np.ndarray:
        """Per replicate, the mean of a (seeds, items) matrix over the drawn seeds and items."""
        per_seed = self.items @ hits.T / hits.shape[1]  # (B, k)
        return (per_seed * self.seeds).sum(axis=1) / hits.shape[0]


def _counts(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """How often each of ``n`` things is drawn in ``n`` draws with replacement, per replicate (a
    multinomial sample; counted with one bincount, many times faster than numpy's multinomial)."""
    drawn = rng.integers(0, n, size=(replicates, n)) + n * np.arange(replicates)[:, None]
    return np.bincount(drawn.ravel(), minlength=replicates * n).reshape(replicates, n).astype(np.float64)


def hits_of(correct: list[str]) -> np.ndarray:
    """A point's (seeds, items) matrix of 1.0 (right) / 0.0 from its per-seed correctness strings."""
    return np.array([[ch == "1" for ch in seed_row] for seed_row in correct], dtype=np.float64)


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


Curve = tuple[str, str]  # method, negatives


def stated_pairs(curves: list[Curve]) -> list[tuple[Curve, Curve]]:
    """The pairs a run states: within each method every negative set against the reference set
    (``distractor`` when present, else the first), and every method against SFT on the same set."""
    curves = sorted(set(curves))
    sets = sorted({n for _, n in curves})
    ref = "distractor" if "distractor" in sets else sets[0]
    pairs = [((m, n), (m, ref)) for m, n in curves if m != "sft" and n != ref and (m, ref) in curves]
    return pairs + [((m, n), ("sft", n)) for m, n in curves if m != "sft" and ("sft", n) in curves]


def curve_name(curve: Curve, other: Curve | None = None) -> str:
    """``method/negatives``; SFT against a curve on its own set is just ``sft``."""
    return "sft" if other is not None and curve == ("sft", other[1]) else f"{curve[0]}/{curve[1]}"


def difference(a: Curve, b: Curve, size: int | None, estimates: dict[Key, float], reps: dict[Key, np.ndarray],
               low_data_max: int) -> tuple[float, np.ndarray] | None:
    """``a − b`` at ``size`` (None: gain per example) and its bootstrap replicates, paired; None
    when either side lacks the points."""
    if size is not None:
        if (*a, size) not in estimates or (*b, size) not in estimates:
            return None
        return estimates[(*a, size)] - estimates[(*b, size)], reps[(*a, size)] - reps[(*b, size)]
    gains = [best_gain({z: src[(m, n, z)] for m2, n2, z in estimates if (m2, n2) == (m, n)}, low_data_max)
             for src in (estimates, reps) for m, n in (a, b)]
    if any(g is None for g in gains):
        return None
    return gains[0] - gains[1], gains[2] - gains[3]


def comparisons(estimates: dict[Key, float], reps: dict[Key, np.ndarray], low_data_max: int) -> list[Comparison]:
    """The paired comparisons a run states (:func:`stated_pairs`) at each trained size both curves
    have, then for gain per example."""
    out = []
    for a, b in stated_pairs([(m, n) for m, n, _ in estimates]):
        sizes = sorted(z for m, n, z in estimates if (m, n) == a and z > 0 and (*b, z) in estimates)
        for z in [*sizes, None]:
            found = difference(a, b, z, estimates, reps, low_data_max)
            if found is not None:
                out.append(Comparison(curve_name(a), curve_name(b, a), z, found[0], *interval(found[1])))
    return sorted(out, key=lambda c: (c.size is None, c.size or 0, c.b, c.a))


def _special() -> Any:
    """scipy.special, imported on first use: the CLI starts without scipy."""
    import scipy.special

    return scipy.special


def _obrien_fleming(t: float, alpha: float) -> float:
    sp = _special()
    return float(2 - 2 * sp.ndtr(sp.ndtri(1 - alpha / 2) / math.sqrt(t)))


# Alpha spending: the share of alpha spent by information fraction t in (0, 1].
SPENDING: Registry = Registry("spending function", {
    "obrien-fleming": _obrien_fleming,
    "pocock": lambda t, alpha: alpha * math.log(1 + (math.e - 1) * t),
})
ALPHA = 0.05
FIRST_LOOK = 2  # seeds at the first look: one seed says nothing about the seeds' variance
_PATHS = 200_000  # simulated standardised paths the boundaries are computed on (fixed seed)


@lru_cache(maxsize=64)
def boundaries(max_seeds: int, spending: str, alpha: float = ALPHA) -> tuple[float, ...]:
    """The two-sided boundary c_k of each planned look (seeds 2 .. max_seeds): a standardised
    sum over seeds crosses ±c_k at look k, and at no earlier look, with probability α(t_k) −
    α(t_{k−1}), t = seeds / max_seeds. Computed on simulated paths with a fixed seed; an increment
    too small for the paths to resolve gets its one-look (Bonferroni) bound, which spends less."""
    spend = SPENDING.lookup(spending, "spending")
    looks = list(range(FIRST_LOOK, max_seeds + 1))
    rng = np.random.default_rng(0)
    steps = rng.standard_normal((_PATHS, max_seeds), dtype=np.float32)
    sums = np.cumsum(steps, axis=1)
    alive = np.ones(_PATHS, dtype=bool)
    out, spent = [], 0.0
    for n in looks:
        increment = spend(n / max_seeds, alpha) - spent
        spent += increment
        z = np.abs(sums[:, n - 1]) / math.sqrt(n)
        if increment * _PATHS < 50:
            c = float(_special().ndtri(1 - increment / 2))
        else:
            c = float(np.sort(z[alive])[::-1][int(increment * _PATHS) - 1])
        alive &= z < c
        out.append(c)
    return tuple(out)


def boundary(n_seeds: int, max_seeds: int, spending: str) -> float:
    """The boundary of the look after ``n_seeds`` seeds in a plan of ``max_seeds``; past the plan,
    its last boundary."""
    bounds = boundaries(max_seeds, spending)
    return bounds[min(max(n_seeds, FIRST_LOOK), max_seeds) - FIRST_LOOK]


@dataclass(frozen=True)
class Components:
    """Variance components of a paired difference's per-seed, per-item values x[s, i] = μ + u_i +
    v_s + e_si (two-way random effects): items (σ²_u), seeds (σ²_v) and their interaction (σ²_e)."""

    item: float
    seed: float
    noise: float

    @classmethod
    def estimate(cls, x: np.ndarray) -> Components:
        """Method-of-moments (two-way ANOVA) estimates from a (seeds, items) matrix, clipped at 0;
        with one seed the seeds' and the interaction's parts cannot be told apart from items'."""
        k, n = x.shape
        seeds, items, grand = x.mean(axis=1), x.mean(axis=0), x.mean()
        ms_items = k * ((items - grand) ** 2).sum() / max(n - 1, 1)
        if k < 2:
            return cls(max(float(ms_items), 0.0), 0.0, 0.0)
        ms_seeds = n * ((seeds - grand) ** 2).sum() / (k - 1)
        resid = x - seeds[:, None] - items[None, :] + grand
        ms_noise = (resid ** 2).sum() / max((k - 1) * (n - 1), 1)
        return cls(max(float(ms_items - ms_noise) / k, 0.0), max(float(ms_seeds - ms_noise) / n, 0.0),
                   max(float(ms_noise), 0.0))

    def variance(self, n_seeds: Count, n_items: Count) -> Any:
        """The sampling variance of the mean over ``n_seeds`` seeds and ``n_items`` items."""
        return self.item / n_items + self.seed / n_seeds + self.noise / (n_seeds * n_items)

    def bootstrap_variance(self, n_seeds: Count, n_items: Count) -> Any:
        """What the paired bootstrap over items and seeds (:class:`Draws`) estimates that variance
        as, in expectation: it undercounts the seeds' part by (1 − 1/seeds) and counts the
        interaction more than once."""
        fi, fs = 1 - 1 / n_items, 1 - 1 / n_seeds
        return (fi * (self.item + self.noise / n_seeds) / n_items + fs * (self.seed + self.noise / n_items) / n_seeds
                + fi * fs * self.noise / (n_items * n_seeds))


    def df(self, n_seeds: Count, n_items: Count) -> Any:
        """Welch-Satterthwaite degrees of freedom of :meth:`variance` estimated from the two-way
        ANOVA's mean squares (few seeds: few degrees of freedom when the seeds' part dominates)."""
        ms_items, ms_seeds = n_seeds * self.item + self.noise, n_items * self.seed + self.noise
        total = ms_items + ms_seeds - self.noise
        spread = (ms_items ** 2 / np.maximum(n_items - 1, 1) + ms_seeds ** 2 / np.maximum(n_seeds - 1, 1)
                  + self.noise ** 2 / np.maximum((n_items - 1) * (n_seeds - 1), 1))
        return np.where(spread > 0, total ** 2 / np.where(spread > 0, spread, 1), np.inf)


def widened(z: Any, df: Any) -> Any:
    """A normal boundary ``z`` as the Student t quantile of the same tail at ``df`` degrees of
    freedom (the standard error is estimated, from few seeds at the first looks)."""
    sp = _special()
    return sp.stdtrit(df, sp.ndtr(z))


def decide_power(effect: float, sd: np.ndarray, half_width: np.ndarray, margin: float) -> np.ndarray:
    """The chance that an estimate ~ N(effect, sd²) with interval ± ``half_width`` decides: the
    interval excludes 0, or (``margin`` > 0) lies inside ±margin (element-wise over arrays)."""
    sd, half = np.broadcast_arrays(np.asarray(sd, dtype=np.float64), np.asarray(half_width, dtype=np.float64))
    exact = (abs(effect) > half) | ((margin > 0) & (abs(effect) + half <= margin))  # no variance: no chance
    safe = np.where(sd > 0, sd, 1.0)
    ndtr = _special().ndtr
    away = ndtr((effect - half) / safe) + ndtr((-effect - half) / safe)
    inside = np.minimum(half, margin - half) if margin > 0 else np.zeros_like(half)
    near = np.where(inside > 0, ndtr((inside - effect) / safe) - ndtr((-inside - effect) / safe), 0.0)
    return np.where(sd > 0, away + near, exact.astype(np.float64))
