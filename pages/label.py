"""Label: one candidate at a time, keyboard first."""
import streamlit as st

from curator.labeling.desk import LabelDesk
from curator.labeling.progress import progress
from curator.labeling.queue import QUEUE_ORDERS, QueueConfig, datasets_and_origins
from curator.labeling.ranker import serving_note
from curator.labeling.refit import start_refitter
from pages.components.keys import key_card
from pages.shared import guarded, require_role, store

user = require_role("annotator")
st.title("Label")
start_refitter(store())  # the ranker learns from these labels in the background

names, origins = datasets_and_origins(store())
with st.sidebar:
    st.subheader("Queue")
    order = st.selectbox("Order", list(QUEUE_ORDERS), key="label_order",
                         format_func={"uncertain": "most uncertain first", "nearness": "highest nearness first",
                                      "random": "random"}.get)
    datasets = st.multiselect("Datasets", names, key="label_datasets", placeholder="all")
    picked_origins = st.multiselect("Origins", origins, key="label_origins", placeholder="all")
cfg = QueueConfig(order=order, datasets=tuple(datasets), origins=tuple(picked_origins))

desk = st.session_state.get("label_desk")
if desk is None or desk.annotator_id != user["id"]:
    desk = st.session_state["label_desk"] = LabelDesk(store(), user["id"], cfg)
desk.configure(cfg)


@st.fragment
def work() -> None:
    """Only the card reruns on a key: its progress line is part of it (fewer elements, faster)."""
    view, p = desk.view(), progress(store(), user["id"], cfg)
    waiting = view is None and p.remaining > 0
    key_card(view, key="label_keys", on_press=guarded(desk.press), refresh=waiting,
             stats={"done": p.done, "remaining": p.remaining, "my decisions / hour": round(p.per_hour)},
             empty=f"Nothing to label right now: {p.remaining} left are being labeled by others. This card checks "
                   "again by itself." if waiting else
                   "Nothing left to label with these filters. Backspace still undoes your last decision.")
    st.caption(serving_note(store(), desk.shown), help="Which ranker ordered this card and made its suggestion.")


work()
st.caption("Keys: 1 near-miss · 2 far-miss · 3 actually correct · 4 invalid · space skip · "
           "backspace undo (last 10) · ? help. Traces: click an assistant step or press j / k to mark the first "
           "wrong step (x clears), then label. Each key is saved before the next candidate shows.")
