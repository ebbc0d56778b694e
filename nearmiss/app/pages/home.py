"""Home: per dataset, how far the team got and my part in it, and where to start labeling."""
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.app.text import plain
from nearmiss.label.progress import team_progress

user = require_role("annotator")
st.title(f"Welcome, {plain(user['name'])}")
rows = team_progress(store(), user["id"])
if not rows:
    st.info("No datasets loaded yet.")
    st.stop()

st.subheader("Datasets")
st.caption("Team progress: candidates labeled at least once. My share: my standing votes among the team's.")
for i, row in enumerate(rows):
    name, bar, mine, go = st.columns([3, 4, 2, 2], vertical_alignment="center")
    name.text(row.dataset)  # a name is shown as text, never Markdown
    bar.progress(row.done, text=f"{row.labeled:,} of {row.candidates:,} candidates labeled ({row.done:.0%})")
    mine.text(f"my votes: {row.mine:,}" + ("" if row.my_share is None else f" ({row.my_share:.0%})"))
    if go.button("Start labeling", key=f"home_start_{i}", disabled=not row.candidates):
        st.session_state["label_datasets"] = [row.dataset]  # the Label page's queue filter
        st.switch_page("pages/label.py")
