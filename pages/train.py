"""Train (admin): start a learning-curve run in the background, watch it, plot its curves."""
import altair as alt
import pandas as pd
import streamlit as st

from curator.datasets import dataset_stats
from curator.errors import NearmissError
from curator.trainer.background import launch
from curator.trainer.config import TrainConfig, help_of
from curator.trainer.curves import gain_table, list_runs, load_points, run_summary
from curator.trainer.data import NEGATIVE_SETS
from curator.trainer.methods import METHODS
from pages.shared import require_role, store

require_role("admin")
st.title("Train")
D = TrainConfig()
datasets = sorted({s.name for s in dataset_stats(store())})

with st.expander("New learning-curve run", expanded=not list_runs(store(), limit=1)):
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        dataset = c1.selectbox("Dataset", datasets or [D.dataset], help=help_of("dataset"), key="train_dataset")
        train_split = c2.text_input("Train split", D.train_split, help=help_of("train_split"), key="train_split")
        eval_split = c3.text_input("Eval split", D.eval_split, help=help_of("eval_split"), key="train_eval_split")
        methods = st.multiselect("Methods", list(METHODS), D.methods, help=help_of("methods"), key="train_methods")
        negatives = st.multiselect("Negative sets", list(NEGATIVE_SETS), D.negatives, help=help_of("negatives"),
                                   key="train_negatives")
        c1, c2, c3, c4 = st.columns(4)
        sizes = c1.text_input("Sizes", ",".join(map(str, D.sizes)), help=help_of("sizes"), key="train_sizes")
        eval_limit = c2.number_input("Eval items (0 = all)", 0, value=200, help=help_of("eval_limit"),
                                     key="train_eval_limit")
        epochs = c3.number_input("Epochs", 1, value=D.epochs, help=help_of("epochs"), key="train_epochs")
        seed = c4.number_input("Seed", 0, value=D.seed, help=help_of("seed"), key="train_seed")
        if st.form_submit_button("Start run", type="primary", key="train_start"):
            try:
                cfg = TrainConfig(dataset=dataset, train_split=train_split, eval_split=eval_split,
                                  eval_limit=int(eval_limit) or None, methods=methods, negatives=negatives,
                                  sizes=[int(x) for x in sizes.split(",") if x.strip()], epochs=int(epochs),
                                  seed=int(seed))
                st.session_state["train_run"] = launch(store(), cfg)
                st.success(f"Run {st.session_state['train_run']} started in the background.")
            except (NearmissError, ValueError) as e:
                st.error(str(e))

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
        st.progress(run["progress"], text=f"{run['status']}: {run['message']}")
    elif run["status"] == "failed":
        st.error(f"Run failed: {run['message']}")
    else:
        st.success(f"Done: {run['message']}")
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
    st.caption("Steepest accuracy gain per example between consecutive sizes up to "
               f"{run['config'].get('low_data_max')}; drops are the mean score of the wrong / gold choices from "
               "untrained heads to the largest size (positive: lowered).")
    st.dataframe(pd.DataFrame(gain_table(points, run["config"].get("low_data_max", D.low_data_max))),
                 hide_index=True, key=f"train_gains_{run_id}")


active = next(r["status"] for r in runs if r["id"] == chosen) in ("pending", "running")
st.fragment(run_every=3 if active else None)(show_run)(chosen)
