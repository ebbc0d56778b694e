"""Deciding comparisons: a run adds seeds until each comparison it was told to decide has a
repeated confidence interval that excludes 0 or lies inside the equivalence margin, or its seed
cap or time budget ends (the rule and why it keeps 95% coverage: ``nearmiss.train.stats``).

A target is ``a-b`` with ``a`` a curve ``method/negatives`` and ``b`` another curve or a method
alone (that method on ``a``'s set), optionally ``@size``; without a size it is the gain per example.
``all`` stands for every pair the run states (:func:`nearmiss.train.stats.stated_pairs`).
Verdicts: ``holds`` (a − b > 0: a is better), ``reversed`` (a − b < 0), ``equivalent`` (inside
±margin; for gain per example ±margin / low_data_max, the same accuracy at low_data_max
examples), ``undecided``. Once decided at a look, a comparison keeps its verdict.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nearmiss.errors import ConfigError
from nearmiss.train.stats import (
    FIRST_LOOK,
    Components,
    Curve,
    Draws,
    Key,
    boundaries,
    boundary,
    curve_name,
    decide_power,
    difference,
    hits_of,
    stated_pairs,
    widened,
)

if TYPE_CHECKING:
    from nearmiss.train.config import TrainConfig

POWER = 0.8
# item counts tried, up to a million, about 2% apart (power grows with items: the first that reaches it)
_ITEM_COUNTS = np.unique(np.geomspace(2, 1_000_000, 700).astype(int))
SEEDS_MAX = 200
ASSUMPTIONS = ("80% power to decide at the look where that many seeds are in (only that look counted), at the "
               "observed difference taken as the true one, with the variance split into items, seeds and their "
               "interaction by a two-way ANOVA of the per-seed per-item differences (gain per example: at the sizes "
               "of each curve's best gain), normal estimates, new seeds and items like the ones seen; seeds past "
               "the plan's cap use its last boundary, more items need a new run with that many.")

RULE = ("repeated 95% confidence intervals: d ± boundary × the paired bootstrap's standard error (never below the "
        "two-way ANOVA's), the boundary from alpha spending over the looks after each seed, as a Student t quantile; "
        "valid at whichever look the run stops")

_BUDGET = re.compile(r"(\d+(?:\.\d+)?)\s*([hms])")
_UNIT = {"h": 3600, "m": 60, "s": 1}


def budget_seconds(text: str | None) -> float | None:
    """``30m``, ``2h``, ``1h30m``, ``90s`` as seconds (None: no budget)."""
    if text is None:
        return None
    parts = _BUDGET.findall(text)
    if not parts or _BUDGET.sub("", text).strip():
        raise ConfigError(f"budget: a duration like 30m, 2h, 1h30m or 90s, got {text!r}")
    return sum(float(n) * _UNIT[u] for n, u in parts)


@dataclass(frozen=True)
class Target:
    """One comparison to decide: ``a − b`` at ``size`` (None: gain per example)."""

    a: Curve
    b: Curve
    size: int | None

    @property
    def name(self) -> str:
        at = "" if self.size is None else f"@{self.size}"
        return f"{curve_name(self.a)}-{curve_name(self.b, self.a)}{at}"

    @classmethod
    def parse(cls, text: str) -> Target:
        spec, _, at = text.partition("@")
        sides = spec.split("-")
        if len(sides) != 2 or "/" not in sides[0] or not all(sides) or (at and not at.isdigit()):
            raise ConfigError(f"decide: expected method/negatives-method[/negatives][@size], got {text!r}")
        a = tuple(sides[0].split("/", 1))
        b = tuple(sides[1].split("/", 1)) if "/" in sides[1] else (sides[1], a[1])
        return cls((a[0], a[1]), (b[0], b[1]), int(at) if at else None)


def targets(cfg: TrainConfig) -> list[Target]:
    """The comparisons ``cfg.decide`` names (``all``: every stated pair, gain per example)."""
    out: list[Target] = []
    for text in cfg.decide:
        if text == "all":
            out += [Target(a, b, None) for a, b in stated_pairs([(m, n) for m in cfg.methods for n in cfg.negatives])]
        else:
            out.append(Target.parse(text))
    return list(dict.fromkeys(out))


def check_targets(cfg: TrainConfig) -> None:
    """Refuse a target whose curves or size the run does not train, naming it."""
    curves = {(m, n) for m in cfg.methods for n in cfg.negatives}
    gain_ok = 0 in cfg.sizes and any(0 < z <= cfg.low_data_max for z in cfg.sizes)
    found = targets(cfg)
    if cfg.decide and not found:
        raise ConfigError("decide: `all` states no comparison here: give two negative sets or a method and sft")
    for t in found:
        for side in (t.a, t.b):
            if side not in curves:
                raise ConfigError(f"decide: {t.name}: the run trains no curve {side[0]}/{side[1]} "
                                  f"(methods {','.join(cfg.methods)}, negatives {','.join(cfg.negatives)})")
        if t.size is not None and t.size not in [z for z in cfg.sizes if z > 0]:
            raise ConfigError(f"decide: {t.name}: size {t.size} is not a trained size of {cfg.sizes}")
        if t.size is None and not gain_ok:
            raise ConfigError(f"decide: {t.name}: gain per example needs size 0 and a size up to low_data_max "
                              f"({cfg.low_data_max}); name a size with @N")


@dataclass(frozen=True)
class Decision:
    """A target's state after a look: its verdict, the difference with its repeated confidence
    interval (boundary ``z`` × bootstrap standard error), when it was decided, and what an
    undecided one would need (:func:`need`)."""

    target: str
    size: int | None
    verdict: str
    d: float
    lo: float
    hi: float
    z: float
    seeds: int
    items: int
    need: dict[str, Any] | None = None

    def line(self) -> str:
        if self.z == 0:  # see look(): the points were skipped
            return f"{self.target}: undecided: no points at size {self.size} (a negative set shorter than it)"
        fmt = "+.3f" if self.size is not None else "+.5f"
        text = (f"{self.target}: {self.verdict} at {self.seeds} seeds, {self.items} items: "
                f"d = {self.d:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}] (boundary z = {self.z:.2f})")
        if self.need:
            seeds, items = self.need["seeds"], self.need["items"]
            text += (f"; for 80% power: {f'{seeds} seeds' if seeds else f'more than {SEEDS_MAX} seeds'} at "
                     f"{self.items} items, or {f'{items} items' if items else 'no item count'} at "
                     f"{self.need['at_seeds']} seeds")
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"text": self.line()}


def decision_row(d: dict[str, Any]) -> dict[str, Any]:
    """A stored decision as a table row: the comparison, its verdict and interval, and for an
    undecided one the seeds (at its items) or items (at the seed cap) for 80% power (None: not found)."""
    need = d.get("need") or {}
    return {"comparison": d["target"], "verdict": d["verdict"], "d": d["d"], "lo": d["lo"], "hi": d["hi"],
            "seeds": d["seeds"], "items": d["items"], "seeds for 80%": need.get("seeds"),
            "items for 80%": need.get("items"), "items at seeds": need.get("at_seeds")}


def verdict(lo: float, hi: float, margin: float) -> str:
    """holds / reversed (the interval excludes 0), equivalent (inside ±margin), else undecided."""
    if lo > 0:
        return "holds"
    if hi < 0:
        return "reversed"
    return "equivalent" if margin > 0 and -margin <= lo and hi <= margin else "undecided"


def _contrast(t: Target, hits: dict[Key, np.ndarray], estimates: dict[Key, float], low_data_max: int) -> np.ndarray:
    """The per-seed per-item values whose mean is the difference: at a size, a's hits − b's; for
    gain per example, each side's (hits at its best size − hits at 0) / that size."""
    if t.size is not None:
        return hits[(*t.a, t.size)] - hits[(*t.b, t.size)]

    def gain(curve: Curve) -> np.ndarray:
        sizes = [z for m, n, z in estimates if (m, n) == curve and 0 < z <= low_data_max]
        best = max(sizes, key=lambda z: ((estimates[(*curve, z)] - estimates[(*curve, 0)]) / z, -z))
        return (hits[(*curve, best)] - hits[(*curve, 0)]) / best

    return gain(t.a) - gain(t.b)


def need(effect: float, comps: Components, n_seeds: int, n_items: int, max_seeds: int, spending: str,
         margin: float) -> dict[str, Any]:
    """Seeds (at ``n_items`` items) and items (at ``max_seeds`` seeds) for 80% power to decide
    (:data:`ASSUMPTIONS`); None where no count up to the search's cap gets there."""
    bounds = np.array(boundaries(max_seeds, spending))

    def power(seeds: np.ndarray, items: int | np.ndarray) -> np.ndarray:
        z = bounds[np.clip(seeds, FIRST_LOOK, max_seeds) - FIRST_LOOK]
        true = comps.variance(seeds, items)
        half = widened(z, comps.df(seeds, items)) * np.sqrt(np.maximum(comps.bootstrap_variance(seeds, items), true))
        return decide_power(effect, np.sqrt(true), half, margin)

    counts = np.arange(max(n_seeds, FIRST_LOOK), SEEDS_MAX + 1)
    ok = power(counts, n_items) >= POWER
    seeds = int(counts[np.argmax(ok)]) if ok.any() else None
    sizes = _ITEM_COUNTS[_ITEM_COUNTS >= 2]
    ok = power(np.full(len(sizes), max_seeds), sizes) >= POWER
    items = int(sizes[np.argmax(ok)]) if ok.any() else None
    return {"seeds": seeds, "items": items, "at_seeds": max_seeds, "power": POWER}


def look(hits: dict[Key, np.ndarray], found: Iterable[Target], max_seeds: int, spending: str, margin: float,
         low_data_max: int, bootstrap: int, earlier: dict[str, Decision] | None = None,
         seed: int = 0) -> list[Decision]:
    """Every target's decision after the seeds in ``hits`` (each point's (seeds, items) matrix of
    right answers, seeds in the same order): a target decided ``earlier`` keeps its decision; the
    others get the repeated confidence interval of this look and, undecided, what they would need."""
    n_seeds, n_items = next(iter(hits.values())).shape
    draws = Draws.make(n_items, n_seeds, bootstrap, seed=seed)
    estimates = {k: float(h.mean()) for k, h in hits.items()}
    reps = {k: draws.mean(h) for k, h in hits.items()}
    z = boundary(n_seeds, max_seeds, spending)
    out = []
    for t in found:
        if earlier and t.name in earlier and earlier[t.name].verdict != "undecided":
            out.append(earlier[t.name])
            continue
        found_d = difference(t.a, t.b, t.size, estimates, reps, low_data_max)
        if found_d is None:  # a size skipped (a negative set shorter than it): nothing to decide on, nor to add
            out.append(Decision(t.name, t.size, "undecided", 0.0, 0.0, 0.0, 0.0, n_seeds, n_items))
            continue
        d, diff_reps = found_d
        comps = Components.estimate(_contrast(t, hits, estimates, low_data_max))
        var = max(float(np.var(diff_reps)), float(comps.variance(n_seeds, n_items)))
        c = float(widened(z, comps.df(n_seeds, n_items)))
        half = c * var ** 0.5
        scale = low_data_max if t.size is None else 1  # the margin is in accuracy: per example at low_data_max
        v = verdict(d - half, d + half, margin / scale)
        plan = need(d, comps, n_seeds, n_items, max_seeds, spending, margin / scale) if v == "undecided" else None
        out.append(Decision(t.name, t.size, v, d, d - half, d + half, c, n_seeds, n_items, plan))
    return out


def hits_of_points(raw: list[dict]) -> dict[Key, np.ndarray]:
    """Each point's (seeds, items) hits from stored points (``load_points``), seeds in order; only
    points every seed has."""
    groups: dict[Key, dict[int, str]] = {}
    for p in raw:
        groups.setdefault((p["method"], p["negatives"], p["size"]), {})[p["seed"]] = p["correct"]
    seeds = sorted({p["seed"] for p in raw})  # a point skipped in some seed (a short negative set) is left out
    return {k: hits_of([g[s] for s in seeds]) for k, g in groups.items() if sorted(g) == seeds}


class Sequential:
    """The seeds of a run and its looks: the configured seeds, then (when the run decides) one more
    at a time while a target is undecided, below the seed cap and within the time budget (a seed is
    not started when the last one's time would overrun it)."""

    def __init__(self, cfg: TrainConfig, clock: Callable[[], float] = time.monotonic):
        self.cfg, self.clock = cfg, clock
        self.found = targets(cfg)
        self.budget = budget_seconds(cfg.budget)
        self.decisions: dict[str, Decision] = {}
        self.stopped = ""  # why no more seeds were added: decided, seed cap, budget
        self.ran: list[int] = []

    @property
    def deciding(self) -> bool:
        return bool(self.found)

    def seeds(self) -> Iterator[int]:
        """The seeds to run, in order; consults the latest look before adding one."""
        started, took = self.clock(), 0.0
        queue = list(self.cfg.seeds)
        while queue or (self.deciding and not self._stop(self.clock() - started, took)):
            seed = queue.pop(0) if queue else max(self.ran) + 1
            begun = self.clock()
            self.ran.append(seed)
            yield seed
            took = self.clock() - begun

    def _stop(self, elapsed: float, took: float) -> bool:
        """Whether to add no more seeds (and why, in ``stopped``)."""
        if self.decisions and all(d.verdict != "undecided" or d.need is None for d in self.decisions.values()):
            self.stopped = "decided"
        elif len(self.ran) >= self.cfg.max_seeds:
            self.stopped = "seed cap"
        elif len(self.ran) >= FIRST_LOOK and self.budget is not None and elapsed + took > self.budget:
            self.stopped = "budget"
        return bool(self.stopped)

    def look(self, raw: list[dict]) -> list[Decision] | None:
        """The decisions after the seeds whose points ``raw`` holds (None: no look yet: not deciding,
        or fewer than two seeds)."""
        hits = hits_of_points([p for p in raw if p["seed"] in self.ran])  # a resumed run stored later seeds too
        if not self.deciding or not hits or next(iter(hits.values())).shape[0] < FIRST_LOOK:
            return None
        cfg = self.cfg
        found = look(hits, self.found, cfg.max_seeds, cfg.spending, cfg.equivalence, cfg.low_data_max,
                     cfg.bootstrap, self.decisions, seed=len(self.ran))
        self.decisions = {d.target: d for d in found}
        return found

    def record(self) -> dict[str, Any]:
        """What the run stores of its decisions."""
        return {"decisions": [d.as_dict() for d in self.decisions.values()],
                "decide": {"spending": self.cfg.spending, "max_seeds": self.cfg.max_seeds, "budget": self.cfg.budget,
                           "equivalence": self.cfg.equivalence, "stopped": self.stopped or None,
                           "seeds": list(self.ran), "assumptions": ASSUMPTIONS}}
