"""Plain-text tables of a learning curve (the CLI and the bench print them)."""
from __future__ import annotations


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _ci(lo: float | None, hi: float | None, spec: str) -> str:
    return "" if lo is None else f"[{lo:{spec}}, {hi:{spec}}]"


def _w(w: dict | None) -> str:
    return "-" if not w else ",".join(f"{v:g}" for v in w.values())


def curve_table(points: list[dict]) -> str:
    """One line per curve point: accuracy over seeds with its 95% interval, acc_norm, and
    Likra's w per seed."""
    width = max([14, *(len(f"{p['method']}/{p['negatives']}") for p in points)])
    legacy = any(p.get("acc_norm_legacy") for p in points)
    lines = [f"{'curve':{width}} {'size':>5} {'acc':>6} {'95% interval':>16} {'acc_norm':>8} "
             f"{'95% interval':>16}  w (per seed)"]
    lines += [f"{p['method'] + '/' + p['negatives']:{width}} {p['size']:>5} {p['acc']:6.3f} "
              f"{_ci(p['acc_lo'], p['acc_hi'], '.3f'):>16} {p['acc_norm']:8.3f} "
              f"{_ci(p['acc_norm_lo'], p['acc_norm_hi'], '.3f'):>16}  {_w(p['w'])}" for p in points]
    if legacy:
        lines.append("acc_norm of this run: old definition (characters of the continuation), not lm-eval's")
    return "\n".join(lines)


def gain_lines(rows: list[dict]) -> str:
    """The gain table: accuracy at 0 and at the largest size, gain per example in the low-data
    part (from zero-shot) with its 95% interval, and the drop of the wrong and gold choices'
    mean score."""
    head = (f"{'method':10} {'negatives':11} {'acc@0':>6} {'acc@max':>7} {'gain/ex':>9} {'95% interval':>22} "
            f"{'gain/ex_norm':>12} {'wrong_drop':>10} {'gold_drop':>9}")
    return "\n".join([head] + [
        f"{r['method']:10} {r['negatives']:11} {r['acc_zero']:6.3f} {r['acc_last']:7.3f} "
        f"{_fmt(r['gain_per_example'], '9.5f')} {_ci(r['gain_lo'], r['gain_hi'], '.5f'):>22} "
        f"{_fmt(r['gain_per_example_norm'], '12.5f')} "
        f"{_fmt(r['wrong_drop'], '10.3f')} {_fmt(r['gold_drop'], '9.3f')}" for r in rows])


def comparison_lines(comparisons: list[dict]) -> str:
    """Paired differences, one per line: ``A − B at n = d [lo, hi]``."""
    return "\n".join(c["text"] for c in comparisons) or "(no paired comparisons: one curve, or no per-item outcomes)"


def decision_lines(decisions: list[dict], decide: dict | None = None) -> str:
    """One line per decided comparison (verdict, interval, and for an undecided one the seeds or
    items it would need), then why seeds stopped being added."""
    lines = [d["text"] for d in decisions]
    if decide and decide.get("stopped"):
        lines.append(f"seeds {','.join(map(str, decide['seeds']))}; stopped adding seeds: {decide['stopped']} "
                     f"({decide['spending']} spending, at most {decide['max_seeds']} seeds"
                     f"{', budget ' + decide['budget'] if decide.get('budget') else ''})")
    return "\n".join(lines)


def roof_line(roof: dict | None) -> str:
    """FLOPs of the run and the time they take at the measured matmul speed."""
    if not roof or not roof.get("matmul_gflops"):
        return ""
    total = sum(roof["flops"].values())
    dtype = f"{roof['dtype']} " if roof.get("dtype") else ""  # runs before the format was recorded have none
    return (f"FLOPs: train {roof['flops']['train'] / 1e12:.2f} T, score {roof['flops']['score'] / 1e12:.2f} T; "
            f"at the measured {dtype}matmul speed ({roof['matmul_gflops']:.0f} GFLOP/s, "
            f"{roof['threads']} threads) "
            f"{roof['roof_seconds']:.0f} s against {roof['seconds']:.0f} s taken "
            f"({100 * roof['roof_seconds'] / max(roof['seconds'], 1e-9):.0f}% of the roof)" if total else "")
