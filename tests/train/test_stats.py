"""Intervals, paired comparisons and gains of curve points; lm-eval's acc_norm; Likra's w choice."""
from __future__ import annotations

import random

import pytest

from nearmiss.train.evaluate import metrics
from nearmiss.train.heads import Scored
from nearmiss.train.likra import choose_w
from nearmiss.train.runs import summarise

N = 50


def _point(method, neg, size, seed, correct, w=None, legacy=False):
    acc = correct.count("1") / len(correct)
    return {"method": method, "negatives": neg, "size": size, "seed": seed, "acc": acc, "acc_norm": acc,
            "correct": correct, "correct_norm": correct, "w": w, "gold_mean": -1.0, "wrong_mean": -2.0,
            "acc_norm_def": None if legacy else "lm-eval", "n_eval": len(correct)}


def _random_outcomes(rng, p):
    return "".join("1" if rng.random() < p else "0" for _ in range(N))


def test_a_point_with_the_same_outcomes_everywhere_has_a_zero_width_interval():
    rng = random.Random(0)
    raw = [_point("sft", "distractor", 0, s, "1" * N) for s in (0, 1)]
    raw += [_point("sft", "distractor", 16, s, _random_outcomes(rng, 0.6)) for s in (0, 1)]
    raw += [_point("sft", "distractor", 32, s, "0" * N) for s in (0, 1)]
    report = summarise(raw, 64, bootstrap=500)
    zero, trained, wrong = report["points"]
    assert zero["acc"] == zero["acc_lo"] == zero["acc_hi"] == 1.0
    assert wrong["acc"] == wrong["acc_lo"] == wrong["acc_hi"] == 0.0
    assert trained["acc_lo"] < trained["acc"] < trained["acc_hi"]
    assert report["seeds"] == [0, 1] and report["n_eval"] == N


def test_paired_differences_and_gain_intervals():
    rng = random.Random(1)
    base = "".join("1" if rng.random() < 0.5 else "0" for _ in range(N))
    better = "".join("1" if c == "1" or rng.random() < 0.4 else "0" for c in base)  # right wherever base is
    raw = []
    for seed in (0, 1):
        for method in ("likra", "sft"):
            for neg in ("hardest", "distractor"):
                raw.append(_point(method, neg, 0, seed, base))
                raw.append(_point(method, neg, 16, seed, better if (method, neg) == ("likra", "hardest") else base,
                                  w={"likra": 0.5}.get(method)))
    report = summarise(raw, 64, bootstrap=500)
    comps = {(c["a"], c["b"], c["size"]): c for c in report["comparisons"]}
    d = (better.count("1") - base.count("1")) / N
    vs_ref = comps[("likra/hardest", "likra/distractor", 16)]
    assert vs_ref["d"] == pytest.approx(d) and 0 < vs_ref["lo"] <= d <= vs_ref["hi"]
    same = comps[("likra/distractor", "sft", 16)]
    assert same["d"] == same["lo"] == same["hi"] == 0  # identical outcomes: the paired difference is exactly 0
    gain = comps[("likra/hardest", "sft", None)]
    assert gain["d"] == pytest.approx(d / 16) and gain["lo"] > 0
    assert vs_ref["text"].startswith("likra/hardest − likra/distractor at 16 = +")
    row = next(r for r in report["gains"] if (r["method"], r["negatives"]) == ("likra", "hardest"))
    assert row["gain_lo"] <= row["gain_per_example"] <= row["gain_hi"] and row["w_last"] == {0: 0.5, 1: 0.5}


def test_points_from_the_old_acc_norm_are_marked():
    raw = [_point("sft", "distractor", 0, 0, "10", legacy=True), _point("sft", "distractor", 4, 0, "11")]
    points = summarise(raw, 64, bootstrap=100)["points"]
    assert [p["acc_norm_legacy"] for p in points] == [True, False]


def test_acc_norm_divides_by_the_choice_text_not_the_continuation():
    # choices "a" and "bbbb" scored as " a" and " bbbb": lm-eval divides by 1 and 4 (-1.9 < -1.25: picks "bbbb");
    # dividing by the continuation's 2 and 5 characters would pick "a" (-0.95 > -1.0).
    m = metrics(Scored([[-1.9, -5.0]], [[len("a"), len("bbbb")]]), golds=[1])
    assert m.acc == 0.0 and m.acc_norm == 1.0 and m.correct == "0" and m.correct_norm == "1"
    old = metrics(Scored([[-1.9, -5.0]], [[len(" a"), len(" bbbb")]]), golds=[1])
    assert old.acc_norm == 0.0


def test_w_is_chosen_by_dev_accuracy_smaller_on_ties():
    plus = Scored([[0.0, -1.0], [-1.0, 0.0], [0.0, -0.1]], [[1, 1]] * 3)
    minus = Scored([[0.0, -3.0], [0.0, 0.0], [0.0, 0.0]], [[1, 1]] * 3)
    # item 0 (gold 1) is right only when w >= 1/3 ... w = 0.5 gets 3/3
    assert choose_w(plus, minus, [1, 1, 0], [0, 0.25, 0.5, 1, 2]) == 0.5
    assert choose_w(plus, plus, [0, 1, 0], [2, 0.5, 0]) == 0  # w < 1 all tie with the base ranking: smallest


def test_free_cores_counts_another_job_but_not_the_process_own_threads(monkeypatch):
    """A CPU-bound child process takes a core; a thread of this process keeping a core busy does
    not. Needs two idle cores (on a busy machine the child only shares cores others already use)."""
    import os
    import subprocess
    import sys
    import threading

    from nearmiss.lm import models

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))  # never clipped at 1
    before = models.free_cores(sample=1.0)
    if before < 64:
        pytest.skip(f"other processes keep {64 - before} core(s) busy: this test needs an idle machine")
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        assert models.free_cores(sample=1.0) == before  # this process's own busy thread
    finally:
        stop.set()
        spinner.join()
    job = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert models.free_cores(sample=1.0) == before - 1  # another job's busy core
    finally:
        job.kill()
        job.wait()
