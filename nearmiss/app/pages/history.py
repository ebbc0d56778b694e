"""History: my decisions, found by text, dataset, label and date, and changed (append-only)."""
import uuid
from datetime import timedelta

import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.errors import NearmissError
from nearmiss.label.history import HISTORY_LIMIT, change_decision, history
from nearmiss.label.labels import LABELS
from nearmiss.label.queue import datasets_and_origins
from nearmiss.store.tables import utcnow

user = require_role("annotator")
st.title("History")
st.caption("Your decisions, newest first. Changing one appends a retraction and the new decision: nothing is "
           "overwritten, and the final label follows.")

names, _ = datasets_and_origins(store())
c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
text = c1.text_input("Search question, candidate or comment", key="history_text")
datasets = c2.multiselect("Datasets", names, key="history_datasets", placeholder="all")
labels = c3.multiselect("Labels", list(LABELS), key="history_labels", placeholder="all")
today = utcnow().date()
days = c4.date_input("Days (UTC)", value=(today - timedelta(days=30), today), key="history_days")
since, until = (tuple(days) + (None, None))[:2] if isinstance(days, (tuple, list)) else (days, days)

rows = history(store(), user["id"], text=text, datasets=datasets, labels=labels, since=since, until=until)
st.caption(f"{len(rows)} decisions" + (f" (the newest {HISTORY_LIMIT}; narrow the filters for older ones)"
                                       if len(rows) == HISTORY_LIMIT else ""))
if not rows:
    st.info("No decisions match.")
    st.stop()
# label and state first, long texts last and narrow: all of them fit a 1,500 px window
st.dataframe(pd.DataFrame([{"#": r.label_id, "label": r.label, "state": "stands" if r.stands else "undone or changed",
                            "flagged": r.flagged, "dataset": r.dataset, "candidate": r.text, "question": r.question,
                            "comment": r.note, "at": r.at} for r in rows]),
             hide_index=True, key="history_table",
             column_config={"candidate": st.column_config.TextColumn(width="medium"),
                            "question": st.column_config.TextColumn(width="medium"),
                            "comment": st.column_config.TextColumn(width="small"),
                            "at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})

st.subheader("Change a decision")
by_id = {r.label_id: r for r in rows}
picked = st.selectbox("Decision", list(by_id), key="history_pick",
                      format_func=lambda i: f"#{i} · {by_id[i].dataset} · {by_id[i].text[:80]} · {by_id[i].label}"
                      + ("" if by_id[i].stands else " (undone)"))
row = by_id[picked]
with st.form("history_change"):
    st.text(f"Question: {row.question}\nCandidate: {row.text}")
    new = st.radio("New label", list(LABELS), index=list(LABELS).index(row.label), horizontal=True,
                   key="history_label")
    note = st.text_input("Comment", value=row.note or "", key=f"history_note_{picked}")
    flag = st.checkbox("Flag: needs discussion", value=row.flagged, key=f"history_flag_{picked}")
    if st.form_submit_button("Save the change"):
        try:
            receipt = change_decision(store(), user["id"], picked, new, request_id=uuid.uuid4().hex, note=note,
                                      flagged=flag)
        except NearmissError as e:
            st.error(str(e))
        else:
            if receipt.status == "passed":
                st.info(f"Nothing to change: {receipt.reason}.")
            elif receipt.taken:
                st.success(f"Saved: {receipt.label} (the earlier decision is retracted, not deleted).")
            else:
                st.error(f"Not saved: {receipt.reason}")
