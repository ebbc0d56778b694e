"""Jobs (admin): mining and training runs of every kind, newest first, with what each does now
(stage, i of n, rate, ETA), updated every few seconds; cancel a live one, resume a stopped one."""
import streamlit as st

from nearmiss.app.shared import require_role
from nearmiss.app.widgets import jobs_panel

require_role("admin")
st.title("Jobs")
st.caption("Every mining and training run, newest first. Cancel stops a run's process (what it stored stays); "
           "Resume starts it again on what it has not stored yet. A run whose process died is marked interrupted.")
jobs_panel("jobs", limit=30)
