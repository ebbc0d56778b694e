"""Train (admin): start a learning-curve run in the background, watch it, plot its curves."""
import altair as alt
import pandas as pd
import streamlit as st

from nearmiss.app.boundary import fragment
from nearmiss.app.shared import require_role, store
from nearmiss.app.text import plain
from nearmiss.app.widgets import REFRESH, job_card
from nearmiss.errors import NearmissError
from nearmiss.jobs.owners import ACTIVE
from nearmiss.jobs.runs import job
from nearmiss.jobs.train import launch
from nearmiss.load.datasets import dataset_stats
from nearmiss.settings import default_of, help_of
from nearmiss.train.config import RECIPES, TrainConfig
from nearmiss.train.decide import ASSUMPTIONS, decision_row
from nearmiss.train.decide import RULE as DECIDE_RULE
from nearmiss.train.methods import METHODS
from nearmiss.train.negatives import NEGATIVE_SETS
from nearmiss.train.runs import GAIN_DEFINITION, curve_report, list_runs, run_summary
from nearmiss.train.stats import METHOD as INTERVALS

require_role("admin")
st.title("Train")
splits: dict[str, list[str]] = {}
for row in dataset_stats(store()):
    splits.setdefault(row.name, []).append(row.split)
# a dataset with a train and an eval split first: the default must run on the demo store
datasets = sorted(splits, key=lambda d: (len(splits[d]) < 2, d))


def field(widget, label: str, name: str, *args, **kwargs):
    """A widget for a TrainConfig field: keyed by the field, with the field's help text."""
    return widget(label, *args, help=help_of(TrainConfig, name), key=f"train_{name}", **kwargs)


def _index(options: list[str], preferred: str, fallback: int = 0) -> int:
    return options.index(preferred) if preferred in options else min(fallback, len(options) - 1)


with st.expander("New learning-curve run", expanded=not list_runs(store(), limit=1)):
    if not datasets:
        st.info("Load a multiple-choice dataset first (Datasets page).")
    else:
        dataset = field(st.selectbox, "Dataset", "dataset", datasets)
        options = sorted(splits[dataset])
        c1, c2 = st.columns(2)
        train_split = field(c1.selectbox, "Train split", "train_split", options,
                            index=_index(options, default_of(TrainConfig, "train_split")))
        preferred = [x for x in default_of(TrainConfig, "eval_split") if x in options and x != train_split]
        eval_split = field(c2.multiselect, "Eval splits", "eval_split", options,
                           preferred or [x for x in options if x != train_split][:1])
        with st.form("train_form"):
            methods = field(st.multiselect, "Methods", "methods", list(METHODS), ["likra", "sft"])
            # the defaults are a first run of a few minutes on 2 CPU cores (bench/RESULTS.md "Train page default")
            negatives = field(st.multiselect, "Negative sets", "negatives", list(NEGATIVE_SETS), ["hardest"])
            c1, c2, c3, c4 = st.columns(4)
            sizes = field(c1.text_input, "Sizes", "sizes", "0,16,64")
            seeds = field(c2.text_input, "Seeds", "seeds", "0")
            eval_limit = field(c3.number_input, "Eval items (0 = all)", "eval_limit", 0, value=200)
            recipe = field(c4.selectbox, "Recipe", "recipe", list(RECIPES))
            c1, c2 = st.columns(2)
            likra_w = field(c1.text_input, "Likra w (a number, or auto)", "likra_w",
                            str(default_of(TrainConfig, "likra_w")))
            epochs = field(c2.number_input, "Epochs (0 = the recipe's)", "epochs", 0, value=0)
            c1, c2, c3, c4 = st.columns(4)
            decide = field(c1.text_input, "Decide (blank: no; all: every stated comparison)", "decide", "")
            equivalence = field(c2.number_input, "Equivalence margin", "equivalence", 0.0, 0.99,
                                value=float(default_of(TrainConfig, "equivalence")), step=0.005, format="%.3f")
            budget = field(c3.text_input, "Budget (e.g. 30m; blank: none)", "budget", "")
            max_seeds = field(c4.number_input, "Max seeds", "max_seeds", 2,
                              value=int(default_of(TrainConfig, "max_seeds")))
            if st.form_submit_button("Start run", type="primary", key="train_start"):
                try:
                    settings = {"dataset": dataset, "train_split": train_split, "eval_split": eval_split,
                                "eval_limit": int(eval_limit) or None, "methods": methods, "negatives": negatives,
                                "sizes": [int(x) for x in sizes.split(",") if x.strip()],
                                "seeds": [int(x) for x in seeds.split(",") if x.strip()], "recipe": recipe,
                                "likra_w": likra_w.strip() if likra_w.strip() == "auto" else float(likra_w),
                                "decide": [x.strip() for x in decide.split(",") if x.strip()],
                                "equivalence": float(equivalence), "budget": budget.strip() or None,
                                "max_seeds": int(max_seeds)}
                    cfg = TrainConfig.from_dict(settings | ({"epochs": int(epochs)} if epochs else {}))
                    st.session_state["train_run_select"] = launch(store(), cfg)
                    st.success(f"{job(store(), st.session_state['train_run_select'])['name'].capitalize()} started "
                               "in the background.")
                except NearmissError as e:
                    st.error(plain(e))
                except ValueError:
                    st.error("Sizes and seeds are comma-separated whole numbers; Likra w is a number or auto.")

runs = list_runs(store())
if not runs:
    st.info("No training runs yet.")
    st.stop()
ids = [r["id"] for r in runs]
if st.session_state.get("train_run_select") not in ids:
    st.session_state["train_run_select"] = ids[0]
chosen = st.selectbox("Run", ids, key="train_run_select",
                      format_func=lambda i: next(f"run {r['number']} · {r['status']} · {r['dataset']} · {r['methods']} · "
                                                 f"{r['negatives']} · seeds {r['seeds']}" for r in runs if r["id"] == i))


def _chart(points: pd.DataFrame, metric: str) -> alt.LayerChart:
    base = alt.Chart(points).encode(x=alt.X("size:Q", scale=alt.Scale(type="symlog"), title="training examples (log)"),
                                    color=alt.Color("method:N"))
    band = base.mark_area(opacity=0.15).encode(y=alt.Y(f"{metric}_lo:Q", title=metric, scale=alt.Scale(zero=False)),
                                               y2=f"{metric}_hi:Q", detail="curve:N")
    line = base.mark_line(point=True).encode(
        y=alt.Y(f"{metric}:Q"), strokeDash=alt.StrokeDash("negatives:N"),
        tooltip=["method", "negatives", "size", alt.Tooltip(f"{metric}:Q", format=".3f"),
                 alt.Tooltip(f"{metric}_lo:Q", format=".3f", title="95% low"),
                 alt.Tooltip(f"{metric}_hi:Q", format=".3f", title="95% high"), alt.Tooltip("w:N", title="w per seed")])
    return band + line if points[f"{metric}_lo"].notna().any() else line


def _w_per_seed(w: dict | None) -> str:
    """Likra's chosen w per seed, as text (tables cannot show a dict column)."""
    return ", ".join(f"{v:g}" for v in w.values()) if isinstance(w, dict) else ""


def show_run(run_id: int, listed: str) -> None:
    """The run's job card and its curves so far; the whole page reruns once its status is no longer
    ``listed`` (the status the run picker shows)."""
    row = job(store(), run_id)
    if row["status"] != listed:
        st.rerun(scope="app")
    job_card(row, "train")
    run = run_summary(store(), run_id)
    report = curve_report(store(), run_id)
    if not report["points"]:
        return
    df = pd.DataFrame(report["points"])
    df["curve"] = df["method"] + " / " + df["negatives"]
    df["w"] = df["w"].map(_w_per_seed)
    df = df.drop(columns=["per_seed"])  # per-seed accuracies: the bands and intervals show them
    metric = st.radio("Metric", ["acc", "acc_norm"], horizontal=True, key="train_metric")
    st.altair_chart(_chart(df, metric), width="stretch", key=f"train_chart_{run_id}")
    st.caption(f"Bands: 95% intervals over {len(report['seeds'])} seed(s) and {report['n_eval'] or '?'} eval items.")
    if df["acc_norm_legacy"].any():
        st.warning("This run's acc_norm used the old definition (characters of the continuation), not lm-eval's.")
    st.subheader("Gain per example")
    st.caption(f"{GAIN_DEFINITION.capitalize()} (low_data_max = {run['config'].get('low_data_max')}); drops are the "
               "mean score of the wrong / gold choices from untrained heads to the largest size (positive: lowered).")
    gains = pd.DataFrame(report["gains"])
    gains["w_last"] = gains["w_last"].map(_w_per_seed)
    gains["sizes"] = gains["sizes"].map(lambda z: ", ".join(map(str, z)))
    st.dataframe(gains, hide_index=True, key=f"train_gains_{run_id}")
    if report["comparisons"]:
        st.subheader("Paired differences")
        st.caption(INTERVALS)
        st.dataframe(pd.DataFrame(report["comparisons"])[["a", "b", "size", "d", "lo", "hi"]], hide_index=True,
                     key=f"train_comparisons_{run_id}")
    decisions = (run["metrics"] or {}).get("decisions")
    if decisions:
        st.subheader("Decisions")
        decide = run["metrics"].get("decide") or {}
        st.caption(f"{DECIDE_RULE.capitalize()}. Stopped adding seeds: {decide.get('stopped') or 'not yet'}. "
                   f"Seeds and items for 80% power assume: {ASSUMPTIONS}")
        st.dataframe(pd.DataFrame([decision_row(d) for d in decisions]), hide_index=True,
                     key=f"train_decisions_{run_id}")


status = next(r["status"] for r in runs if r["id"] == chosen)
fragment(run_every=REFRESH if status in ACTIVE else None)(show_run)(chosen, status)
