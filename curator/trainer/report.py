"""Plain-text tables of a learning curve (the CLI and the bench print them)."""
from __future__ import annotations


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def curve_table(points: list[dict]) -> str:
    """One row per size, one column per method/negatives: ``acc / acc_norm``."""
    cols = sorted({(p["method"], p["negatives"]) for p in points})
    sizes = sorted({p["size"] for p in points})
    cell = {(p["method"], p["negatives"], p["size"]): f"{p['acc']:.3f}/{p['acc_norm']:.3f}" for p in points}
    names = [f"{m}/{n}" for m, n in cols]
    width = max([13, *map(len, names)])
    lines = ["size  " + "  ".join(f"{c:>{width}}" for c in names)]
    lines += [f"{z:>4}  " + "  ".join(f"{cell.get((m, n, z), '-'):>{width}}" for m, n in cols) for z in sizes]
    return "\n".join(lines)


def gain_lines(rows: list[dict]) -> str:
    """The gain table: accuracy at 0 and at the largest size, gain per example in the
    low-data part (from zero-shot), and the drop of the wrong and gold choices' mean score."""
    head = (f"{'method':10} {'negatives':11} {'acc@0':>6} {'acc@max':>7} {'gain/ex':>9} {'gain/ex_norm':>12} "
            f"{'wrong_drop':>10} {'gold_drop':>9}")
    return "\n".join([head] + [
        f"{r['method']:10} {r['negatives']:11} {r['acc_zero']:6.3f} {r['acc_last']:7.3f} "
        f"{_fmt(r['gain_per_example'], '9.5f')} {_fmt(r['gain_per_example_norm'], '12.5f')} "
        f"{_fmt(r['wrong_drop'], '10.3f')} {_fmt(r['gold_drop'], '9.3f')}" for r in rows])
