"""Train (admin): start a learning-curve run in the background, watch it, plot its curves."""
import altair as alt
import pandas as pd
import streamlit as st

from curator.datasets import dataset_stats
from curator.errors import NearmissError
from curator.trainer.background import launch
from curator.trainer.config import TrainConfig, default_of, help_of
from curator.trainer.data import NEGATIVE_SETS
from curator.trainer.methods import METHODS
from curator.trainer.runs import GAIN_DEFINITION, gain_table, list_runs, load_points, run_summary
from pages.text import plain
from pages.shared import require_role, store

require_role("admin")
st.title("Train")
datasets = sorted({s.name for s in dataset_stats(store())})

def field(widget, label: str, name: str, *args, **kwargs):
    """A form widget for a TrainConfig field: keyed by the field, with the field's help text."""
    return widget(label, *args, help=help_of(name), key=f"train_{name}", **kwargs)


with st.expander("New learning-curve run", expanded=not list_runs(store(), limit=1)):
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        dataset = field(c1.selectbox, "Dataset", "dataset", datasets or [default_of("dataset")])
        train_split = field(c2.text_input, "Train split", "train_split", default_of("train_split"))
        eval_split = field(c3.text_input, "Eval split", "eval_split", default_of("eval_split"))
        methods = field(st.multiselect, "Methods", "methods", list(METHODS), default_of("methods"))
        negatives = field(st.multiselect, "Negative sets", "negatives", list(NEGATIVE_SETS), default_of("negatives"))
        c1, c2, c3, c4 = st.columns(4)
        sizes = field(c1.text_input, "Sizes", "sizes", ",".join(map(str, default_of("sizes"))))
        eval_limit = field(c2.number_input, "Eval items (0 = all)", "eval_limit", 0, value=200)
        epochs = field(c3.number_input, "Epochs", "epochs", 1, value=default_of("epochs"))
        seed = field(c4.number_input, "Seed", "seed", 0, value=default_of("seed"))
        if st.form_submit_button("Start run", type="primary", key="train_start"):
            try:
                cfg = TrainConfig(dataset=dataset, train_split=train_split, eval_split=eval_split,
                                  eval_limit=int(eval_limit) or None, methods=methods, negatives=negatives,
                                  sizes=[int(x) for x in sizes.split(",") if x.strip()], epochs=int(epochs),
                                  seed=int(seed))
                st.session_state["train_run"] = launch(store(), cfg)
                st.success(f"Run {st.session_state['train_run']} started in the background.")
            except (NearmissError, ValueError) as e:
                st.error(plain(e))

runs = list_runs(store())
if not runs:
    st.info("No training runs yet.")
    st.stop()
ids = [r["id"] for r in runs]
chosen = st.selectbox("Run", ids, index=ids.index(st.session_state.get("train_run", ids[0])),
                      format_func=lambda i: next(f"run {i} · {r['status']} · {r['dataset']} · {r['methods']} · "
                                                 f"{r['negatives']}" for r in runs if r["id"] == i),
                      key="train_run_select")


def show_run(run_id: int) -> None:
    run = run_summary(store(), run_id)
    if run["status"] in ("pending", "running"):
        st.progress(run["progress"], text=f"{run['status']}: {plain(run['message'])}")
    elif run["status"] == "failed":
        st.error(f"Run failed: {plain(run['message'])}")
    else:
        st.success(f"Done: {plain(run['message'])}")
    points = load_points(store(), run_id)
    if not points:
        return
    df = pd.DataFrame(points)
    df["curve"] = df["method"] + " / " + df["negatives"]
    metric = st.radio("Metric", ["acc", "acc_norm"], horizontal=True, key="train_metric")
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("size:Q", scale=alt.Scale(type="symlog"), title="training examples (log)"),
        y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False), title=metric),
        color=alt.Color("method:N"), strokeDash=alt.StrokeDash("negatives:N"),
        tooltip=["method", "negatives", "size", "acc", "acc_norm"])
    st.altair_chart(chart, width="stretch", key=f"train_chart_{run_id}")
    st.subheader("Gain per example")
    st.caption(f"{GAIN_DEFINITION.capitalize()} (low_data_max = {run['config'].get('low_data_max')}); drops are the mean score of the wrong / gold choices from "
               "untrained heads to the largest size (positive: lowered).")
    st.dataframe(pd.DataFrame(gain_table(points, run["config"].get("low_data_max", default_of("low_data_max")))),
                 hide_index=True, key=f"train_gains_{run_id}")


active = next(r["status"] for r in runs if r["id"] == chosen) in ("pending", "running")
st.fragment(run_every=3 if active else None)(show_run)(chosen)
