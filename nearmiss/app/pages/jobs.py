"""Jobs (admin): runs of every kind (mining, training, loads, exports), newest first, with what each does now
(stage, i of n, rate, ETA), updated every few seconds; cancel a live one, resume a stopped one."""
import streamlit as st

from nearmiss.app.shared import require_role
from nearmiss.app.widgets import jobs_panel

require_role("admin")
st.title("Jobs")
st.caption("Every mining, training, load and export run, newest first. Cancel stops a run (what a mining or training "
           "run stored stays; a load stores nothing, an export leaves no files); Resume starts a mining or training "
           "run again on what it has not stored yet. A run whose process died is marked interrupted.")
jobs_panel("jobs", limit=30)
