"""My progress: what I labeled, what is left, my pace."""
import altair as alt
import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.label.labels import UNDO_DEPTH, recent_decisions
from nearmiss.label.progress import hourly, progress
from nearmiss.label.queue import QueueConfig

user = require_role("annotator")
st.title("My progress")

p = progress(store(), user["id"], QueueConfig())
done, left, pace = st.columns(3)
done.metric("Done (all datasets)", p.done)
left.metric("Remaining (all datasets)", p.remaining)
pace.metric("Decisions / hour", "—" if p.per_hour is None else f"{p.per_hour:.0f}",
            help="Shown after 10 decisions over at least 5 minutes in the last hour.")

per_hour = pd.DataFrame(hourly(store(), user["id"]), columns=["hour", "decisions"])
st.subheader("Decisions per hour, last 24 hours")
st.altair_chart(alt.Chart(per_hour).mark_bar().encode(x=alt.X("hour:T", title="hour (UTC)"),
                                                       y=alt.Y("decisions:Q", title="decisions")),
                key="progress_hourly")

if p.labels:
    st.subheader("My labels")
    counts = pd.DataFrame(sorted(p.labels.items()), columns=["label", "count"])
    st.altair_chart(alt.Chart(counts).mark_bar().encode(x=alt.X("count:Q"), y=alt.Y("label:N", sort="-x")),
                    key="progress_labels")

st.subheader(f"Last {UNDO_DEPTH} decisions")
recent = recent_decisions(store(), user["id"])
if recent:
    st.dataframe(pd.DataFrame([{"at": r.at, "candidate": r.text, "label": r.label,
                                "state": "stands" if r.active else "undone"} for r in recent]),
                 hide_index=True, key="progress_recent")
    st.caption("Undo them on the Label page with backspace, newest first; find and change any decision on the "
               "History page.")
else:
    st.info("No decisions yet.")
