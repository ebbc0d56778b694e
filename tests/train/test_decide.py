"""The decision rule on simulated runs: coverage under repeated looks, and the power estimate
against simulation. A cheap simulator draws per-seed, per-item right/wrong outcomes of two
curves from a logistic model: item difficulty shared by both curves, an item effect of each
curve's own, a seed effect of each curve's own (each seed trains other heads) and Bernoulli noise."""
from __future__ import annotations

import numpy as np
import pytest

from nearmiss.errors import ConfigError
from nearmiss.train.config import TrainConfig
from nearmiss.train.decide import Sequential, Target, budget_seconds, look, need, targets
from nearmiss.train.stats import Components, Draws, boundaries

A, B = ("likra", "hardest", 16), ("likra", "distractor", 16)
TARGET = Target(A[:2], B[:2], 16)


def _simulate(rng, seeds, items, effect=0.0, shared=1.0, own=0.05, seed_sd=0.6):
    u = rng.normal(0, shared, items)
    logit_a = u + rng.normal(0, own, items) + rng.normal(0, seed_sd, seeds)[:, None] + effect
    logit_b = u + rng.normal(0, own, items) + rng.normal(0, seed_sd, seeds)[:, None]
    return {key: (rng.random((seeds, items)) < 1 / (1 + np.exp(-logit))).astype(float)
            for key, logit in ((A, logit_a), (B, logit_b))}


def _sequential(hits, max_seeds, last=None, spending="obrien-fleming", replicates=100):
    """The decision after looks at 2 .. ``last`` seeds (a decided look keeps its verdict)."""
    earlier = None
    for n in range(2, (last or max_seeds) + 1):
        found = look({k: h[:n] for k, h in hits.items()}, [TARGET], max_seeds, spending, 0.0, 64, replicates,
                     earlier, seed=n)
        earlier = {d.target: d for d in found}
    return found[0]


def _naive_misses(hits, max_seeds, replicates=100):
    """Whether a plain 95% bootstrap interval at any look excludes 0 (no spending)."""
    for n in range(2, max_seeds + 1):
        draws = Draws.make(hits[A].shape[1], n, replicates, seed=n)
        diff = draws.mean(hits[A][:n]) - draws.mean(hits[B][:n])
        lo, hi = np.percentile(diff, [2.5, 97.5])
        if lo > 0 or hi < 0:
            return True
    return False


@pytest.mark.parametrize("regime", [dict(seed_sd=0.6, own=0.05), dict(seed_sd=0.1, own=0.4)],
                         ids=["seeds-dominate", "items-dominate"])
def test_coverage_of_a_zero_difference_stays_at_95_percent_under_repeated_looks(regime):
    rng = np.random.default_rng(1)
    runs = [_simulate(rng, 6, 50, **regime) for _ in range(200)]
    wrong = sum(_sequential(h, 6).verdict in ("holds", "reversed") for h in runs)
    assert wrong / len(runs) <= 0.05  # holds or reversed for a true zero difference: the interval missed it
    if regime["seed_sd"] > regime["own"]:  # where seeds dominate, plain 95% intervals at every look miss more
        assert sum(map(_naive_misses, runs, [6] * len(runs))) / len(runs) > 0.08


def _pilot(rng, effect, shared=1.0, own=0.05, seed_sd=0.6):
    """The simulator's true difference in accuracy (each curve's logit is normal: exact by
    quadrature) and its variance components (estimated on many seeds and items)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    scale = np.sqrt(shared ** 2 + own ** 2 + seed_sd ** 2)
    accuracy = [float(weights @ (1 / (1 + np.exp(-(shift + scale * nodes))))) / weights.sum() for shift in (effect, 0)]
    big = _simulate(rng, 200, 4000, effect, shared, own, seed_sd)
    return accuracy[0] - accuracy[1], Components.estimate(big[A] - big[B])


@pytest.mark.parametrize("effect,regime", [(1.0, dict(seed_sd=0.5, own=0.05)), (0.3, dict(seed_sd=0.05, own=0.3))],
                         ids=["more seeds", "more items"])
def test_the_predicted_seeds_and_items_decide_about_80_percent_of_simulated_runs(effect, regime):
    """Tolerance: 72% to 92% of 120 simulated runs (the binomial sd is 3-4 points; the estimate
    counts only the last look, so the earlier looks add a few points)."""
    rng = np.random.default_rng(2)
    d, comps = _pilot(rng, effect, **regime)
    plan = need(d, comps, 2, 150, 10, "obrien-fleming", 0.0)
    if regime["seed_sd"] > regime["own"]:
        seeds, items = plan["seeds"], 150
        assert seeds is not None and 3 <= seeds <= 10  # a case where adding seeds is the way
    else:
        seeds, items = 10, plan["items"]
        assert items is not None and 150 < items < 2000  # a case where seeds alone do little
    decided = [_sequential(_simulate(rng, seeds, items, effect, **regime), 10, last=seeds).verdict != "undecided"
               for _ in range(120)]
    assert 0.72 <= np.mean(decided) <= 0.92


def test_an_equivalence_margin_decides_a_small_difference_as_equivalent():
    rng = np.random.default_rng(3)
    hits = _simulate(rng, 6, 2000, 0.0, seed_sd=0.02, own=0.02)
    found = look(hits, [TARGET], 6, "obrien-fleming", 0.05, 64, 200)[0]
    assert found.verdict == "equivalent" and -0.05 <= found.lo <= found.hi <= 0.05 and found.need is None
    undecided = look(hits, [TARGET], 6, "obrien-fleming", 0.0, 64, 200)[0]
    assert undecided.verdict == "undecided" and undecided.need is not None
    same = {A: hits[A], B: hits[A]}  # identical outcomes: a zero-width interval at 0 that no count can move
    (tie,) = look(same, [TARGET], 6, "obrien-fleming", 0.0, 64, 200)
    assert tie.lo == tie.hi == 0 and tie.need is not None and tie.need["seeds"] is tie.need["items"] is None
    assert look(same, [TARGET], 6, "obrien-fleming", 0.01, 64, 200)[0].verdict == "equivalent"


def test_boundaries_spend_alpha_o_brien_fleming_strict_early_pocock_even():
    obf, pocock = boundaries(10, "obrien-fleming"), boundaries(10, "pocock")
    assert len(obf) == 9 and all(a > b for a, b in zip(obf, obf[1:])) and 1.96 < obf[-1] < 2.2
    assert max(pocock) - min(pocock) < 0.2 and pocock[-1] > obf[-1]


def test_targets_and_budget_parse_and_refuse_what_the_run_does_not_train():
    cfg = TrainConfig(methods=["likra", "sft"], negatives=["hardest", "distractor"], sizes=[0, 16],
                      decide=["all", "likra/hardest-sft@16"])
    names = [t.name for t in targets(cfg)]
    assert names == ["likra/hardest-likra/distractor", "likra/distractor-sft", "likra/hardest-sft",
                     "likra/hardest-sft@16"]
    assert budget_seconds("1h30m") == 5400 and budget_seconds("90s") == 90
    for bad, field in (({"decide": ["nat/hardest-sft"]}, "no curve nat/hardest"),
                       ({"decide": ["likra/hardest-sft@32"]}, "size 32"), ({"budget": "soon"}, "budget"),
                       ({"decide": ["likra/hardest"]}, "expected method/negatives")):
        with pytest.raises(ConfigError, match=field):
            TrainConfig(**{"methods": ["likra", "sft"], "negatives": ["hardest", "distractor"], "sizes": [0, 16],
                           **bad})


def test_the_seed_loop_adds_seeds_until_decided_the_cap_or_the_budget():
    cfg = TrainConfig(methods=["likra"], negatives=["hardest", "distractor"], sizes=[0, 16], seeds=[0, 1],
                      decide=["likra/hardest-likra/distractor@16"], max_seeds=5, budget="10s")
    rng = np.random.default_rng(4)

    def points(effect, seeds):
        hits = _simulate(rng, seeds, 40, effect)
        return [{"method": m, "negatives": n, "size": z, "seed": s, "correct": "".join("1" if v else "0" for v in
                 (hits[(m, n, 16)][s] if z else np.ones(40)))} for m, n, z in [(*A[:2], 0), (*B[:2], 0), A, B]
                for s in range(seeds)]

    def drive(plan, raw):
        for seed in plan.seeds():
            plan.look([p for p in raw if p["seed"] <= seed])
        return plan

    capped = drive(Sequential(cfg), points(0.0, 5))
    assert capped.ran == [0, 1, 2, 3, 4] and capped.stopped == "seed cap"
    clear = drive(Sequential(cfg), points(3.0, 5))
    assert clear.stopped == "decided" and len(clear.ran) < 5 and clear.decisions[TARGET.name].verdict == "holds"
    ticks = iter(range(0, 1000, 4))  # each clock reading 4 s later: a seed takes 4 s, 10 s allow two
    budget = drive(Sequential(cfg, clock=lambda: next(ticks)), points(0.0, 5))
    assert budget.stopped == "budget" and budget.ran == [0, 1]
    record = budget.record()
    assert record["decide"]["stopped"] == "budget" and record["decisions"][0]["verdict"] == "undecided"
