"""Mine (admin): start a mining run in the background, watch it, see what it found."""
import altair as alt
import pandas as pd
import streamlit as st

from curator.datasets import dataset_stats
from curator.errors import NearmissError
from miners.base import help_of
from miners.pools.neighbours import NeighboursConfig
from miners.registry import POOLS, SCORERS
from miners.report import mining_runs, nearness_histogram, top_candidates
from miners.run import MineConfig
from miners.worker import start_mining
from pages.text import plain
from pages.shared import require_role, store

require_role("admin")
st.title("Mine")
datasets = sorted({s.name for s in dataset_stats(store())})
if not datasets:
    st.info("The store is empty. Load data with `nearmiss load SOURCE` first.")
    st.stop()

with st.form("mine_form"):
    cols = st.columns(3)
    dataset = cols[0].selectbox("Dataset", datasets, key="mine_dataset")
    limit = cols[1].number_input("Items (0: all)", min_value=0, value=50, step=10, key="mine_limit",
                                 help=help_of(MineConfig, "limit"))
    k = cols[2].number_input("Neighbours k", min_value=1, value=3, key="mine_k", help=help_of(NeighboursConfig, "k"))
    pools = st.multiselect("Pools", list(POOLS), default=["distractors", "neighbours"], key="mine_pools",
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
    st.success(f"Run {st.session_state['mine_started']} started in the background.")


@st.fragment(run_every=2)
def runs_panel() -> None:
    runs = mining_runs(store(), limit=5)
    active = {r["id"] for r in runs if r["status"] in ("pending", "running")}
    if st.session_state.get("mine_active", set()) - active:
        st.session_state["mine_active"] = active
        st.rerun(scope="app")  # a run finished: refresh the charts below
    st.session_state["mine_active"] = active
    st.subheader("Runs")
    if not runs:
        st.caption("No mining runs yet.")
    for r in runs:
        st.progress(min(max(r["progress"], 0.0), 1.0),
                    text=f"Run {r['id']} · {plain(r['dataset'])} · {r['pools']} · **{r['status']}** · {plain(r['message'] or '')}")


runs_panel()

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
