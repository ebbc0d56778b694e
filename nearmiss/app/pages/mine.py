"""Mine (admin): start a mining run in the background, watch it, see what it found."""
import altair as alt
import pandas as pd
import streamlit as st

from nearmiss.app.shared import progress_bar, require_role, store
from nearmiss.app.text import plain
from nearmiss.app.widgets import jobs_panel
from nearmiss.errors import NearmissError
from nearmiss.jobs.mine import start_mining
from nearmiss.jobs.runs import job
from nearmiss.label.ranker import fit as fit_ranker
from nearmiss.label.ranker import quality_table, ranker_config, reliability_rows
from nearmiss.label.ranker import show as show_ranker
from nearmiss.load.datasets import dataset_stats
from nearmiss.mine.pools.neighbours import NeighboursConfig
from nearmiss.mine.registry import POOLS, SCORERS
from nearmiss.mine.report import nearness_histogram, top_candidates
from nearmiss.mine.run import MineConfig
from nearmiss.settings import default_of, help_of

require_role("admin")
st.title("Mine")
datasets = sorted({s.name for s in dataset_stats(store())})
if not datasets:
    st.info("The store is empty. Load a dataset on the Datasets page first.")
    st.stop()

with st.form("mine_form"):
    cols = st.columns(3)
    dataset = cols[0].selectbox("Dataset", datasets, key="mine_dataset")
    limit = cols[1].number_input("Items (0: all)", min_value=0, value=50, step=10, key="mine_limit",
                                 help=help_of(MineConfig, "limit"))
    k = cols[2].number_input("Neighbours k", min_value=1, value=default_of(NeighboursConfig, "k"), key="mine_k",
                             help=help_of(NeighboursConfig, "k"))
    pools = st.multiselect("Pools", list(POOLS), default=list(default_of(MineConfig, "pools")), key="mine_pools",
                           help=help_of(MineConfig, "pools"))
    scorers = st.multiselect("Scorers", list(SCORERS), default=list(SCORERS), key="mine_scorers",
                             help=help_of(MineConfig, "scorers"))
    if st.form_submit_button("Start mining", key="mine_start"):
        try:
            cfg = MineConfig(dataset=dataset, pools=tuple(pools), scorers=tuple(scorers), limit=int(limit) or None,
                             neighbours=NeighboursConfig(k=int(k)))
            st.session_state["mine_started"] = start_mining(store(), cfg)
        except NearmissError as e:
            st.error(plain(e))
if "mine_started" in st.session_state:
    st.success(f"{job(store(), st.session_state['mine_started'])['name'].capitalize()} started in the background.")

st.subheader("Runs")
jobs_panel("mine", kind="mine", limit=5)

st.subheader("Nearness per origin")
shown = st.selectbox("Dataset shown", datasets, key="mine_shown")
hist = pd.DataFrame(nearness_histogram(store(), shown))
if hist.empty:
    st.caption("No scored candidates for this dataset yet.")
else:
    chart = alt.Chart(hist).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title="nearness"), x2="bin_end:Q", y=alt.Y("count:Q", title="candidates"),
        color=alt.Color("origin:N"), row=alt.Row("origin:N", title=None),
        tooltip=["origin", "bin_start", "bin_end", "count"]).properties(height=110, width=600)
    st.altair_chart(chart, key="mine_chart")
    st.subheader("Top candidates")
    st.dataframe(pd.DataFrame(top_candidates(store(), shown, limit=50)), hide_index=True, key="mine_top")

st.subheader("Ranker learned from labels")
st.caption("p_near: a calibrated near-miss probability fitted on the final labels (near-miss vs far-miss); it orders "
           "the 'most uncertain first' queue and sets the suggestion. Quality is cross-validated on held-out labels "
           "(95% bootstrap intervals), beside the fixed blend (nearness) on the same labels.")
rank_dataset = st.selectbox("Dataset ranked", datasets, key="mine_rank_dataset")
if st.button("Refit now", key="mine_rank_fit"):
    show_progress = progress_bar("fitting")
    try:
        result = fit_ranker(store(), rank_dataset, ranker_config(store(), rank_dataset), progress=show_progress)
        st.text(result.message)
    except NearmissError as e:
        st.error(str(e))
ranker = show_ranker(store(), rank_dataset)
serving, last = ranker["serving"], ranker["latest"]
if last and last["kind"] == "fixed":
    st.text(f"Fixed blend until enough labels: {last['quality']['near']} near-miss + {last['quality']['far']} "
            f"far-miss so far, {last['quality']['needed']} more needed.")
if serving["kind"] == "fixed":
    st.caption("No learned ranker yet: the fixed blend (nearness) orders the queue.")
else:
    q = serving["quality"]
    st.text(f"Ranker v{serving['version']} ({serving['model']}) from {serving['labels']} labels "
            f"({q['near']} near-miss, {q['far']} far-miss), {q['folds']}-fold cross-validation.")
    st.dataframe(pd.DataFrame(quality_table(q)), hide_index=True, key="mine_rank_quality")
    left, right = st.columns(2)
    points = pd.DataFrame(reliability_rows(q))
    diagonal = alt.Chart(pd.DataFrame({"predicted": [0, 1], "observed": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="grey").encode(x="predicted:Q", y="observed:Q")
    curve = alt.Chart(points).mark_line(point=True).encode(
        x=alt.X("predicted:Q", title="mean predicted", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed:Q", title="observed near-miss share", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("ranker:N", legend=alt.Legend(orient="bottom")), tooltip=["ranker", "predicted", "observed"])
    left.caption("Reliability (out-of-fold)")
    left.altair_chart((diagonal + curve).properties(height=260), key="mine_rank_reliability")
    right.caption("Features that matter (AUC drop when shuffled)")
    importance = pd.DataFrame(list(q["importance"].items()), columns=["feature", "AUC drop"])
    right.altair_chart(alt.Chart(importance).mark_bar().encode(
        x="AUC drop:Q", y=alt.Y("feature:N", sort="-x")).properties(height=260), key="mine_rank_importance")
