"""Label: one candidate at a time, keyboard first."""
import streamlit as st

from nearmiss.app.boundary import fragment
from nearmiss.app.components.keys import DESK_KEYS, key_card
from nearmiss.app.shared import guarded, require_role, store
from nearmiss.app.text import without_images
from nearmiss.label.card import CardSettings, card_settings, save_card_settings
from nearmiss.label.desk import LabelDesk
from nearmiss.label.queue import QUEUE_ORDERS, QueueConfig, datasets_and_origins
from nearmiss.label.ranker import serving_note
from nearmiss.label.refit import start_refitter
from nearmiss.settings import help_of

HEARTBEAT_SECONDS = 60  # leases last QueueConfig.lease_seconds (300 s): a few missed beats do no harm
ORDER_LABELS = {"uncertain": "most uncertain first", "nearness": "highest nearness first", "random": "random"}

user = require_role("annotator")
st.title("Label")
start_refitter(store())  # the ranker learns from these labels in the background

names, origins = datasets_and_origins(store())
shown = card_settings(store())
with st.sidebar:
    st.subheader("Queue")
    order = st.selectbox("Order", list(QUEUE_ORDERS), key="label_order", help=help_of(QueueConfig, "order"),
                         format_func=lambda o: ORDER_LABELS.get(o, o))
    datasets = st.multiselect("Datasets", names, key="label_datasets", placeholder="all",
                              help=help_of(QueueConfig, "datasets"))
    picked_origins = st.multiselect("Origins", origins, key="label_origins", placeholder="all",
                                    help=help_of(QueueConfig, "origins")) \
        if user["role"] == "admin" or shown.show_internals else []  # origins are internals annotators need not see
cfg = QueueConfig(order=order, datasets=tuple(datasets), origins=tuple(picked_origins))

held = st.session_state.get("label_desk")
if held is None or held.annotator_id != user["id"]:
    held = st.session_state["label_desk"] = LabelDesk(store(), user["id"], cfg)
desk: LabelDesk = held
desk.configure(cfg)

if user["role"] == "admin":  # what every annotator's card shows
    with st.sidebar.expander("Cards (admins)"), st.form("card_settings", border=False):
        internals = st.checkbox("Show scores and origins", shown.show_internals, key="card_internals",
                                help=help_of(CardSettings, "show_internals"))
        suggest_at = st.number_input("Suggest at confidence", 0.5, 1.0, float(shown.suggest_at), 0.05,
                                     key="card_suggest_at", help=help_of(CardSettings, "suggest_at"))
        if st.form_submit_button("Save"):
            save_card_settings(store(), user["id"], CardSettings(internals, suggest_at))
            desk.refresh()
            st.success("Saved: every card shows it from its next key.")


def guidelines() -> None:
    """The guidelines of the dataset on the card (admin-written Markdown: rendered as such, but
    images only as links, so no reader is tracked by a remote image)."""
    rules = desk.guideline()
    with st.container(key="label_guidelines"), st.expander("Guidelines (g)"):
        if rules:
            st.text(f"{rules.dataset}, version {rules.version}")  # a dataset name is user text: plain
            st.markdown(without_images(rules.text))
        else:
            st.caption("No guidelines for this dataset yet.")


@fragment()
def work() -> None:
    """Only the card reruns on a key: its progress line is part of it (fewer elements, faster)."""
    view, p = desk.view(), desk.progress()
    guidelines()
    waiting = view is None and p.remaining > 0
    key_card(view, key="label_keys", on_press=guarded(desk.press), keys=DESK_KEYS, refresh=waiting,
             on_heartbeat=guarded(desk.heartbeat), heartbeat_seconds=HEARTBEAT_SECONDS,
             stats={"done": p.done, "remaining": p.remaining,
                    "my decisions / hour": "—" if p.per_hour is None else round(p.per_hour)},
             empty=f"Nothing to label right now: {p.remaining} left are being labeled by others. This card checks "
                   "again by itself." if waiting else
                   "Nothing left to label with these filters. Backspace still undoes your last decision.")
    if desk.settings.show_internals:
        st.caption(serving_note(store(), desk.shown), help="Which ranker ordered this card and made its suggestion.")


work()
st.caption("Keys (or click them on the card): 1 near-miss · 2 far-miss · 3 actually correct · 4 invalid · "
           "enter accept the suggestion (cards show one only where the ranker is confident) · space skip · backspace undo (last 10; older ones on the History page) · "
           "c comment · f flag for discussion · g guidelines · ? help. Traces: click an assistant step or press "
           "j / k to mark the first wrong step (x clears), then label. Each key is saved before the next candidate "
           "shows. Done and remaining follow the filters (others' work shows within 15 s); the rate shows after 10 "
           "decisions over 5 minutes.")
