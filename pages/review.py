"""Review (admin): overlap per dataset, agreement, and adjudication of disagreements by key."""
import pandas as pd
import streamlit as st

from curator.labeling.agreement import disagreements, pairwise, per_dataset
from curator.labeling.desk import ReviewDesk
from curator.errors import NearmissError
from curator.labeling.labels import final_sources
from curator.labeling.queue import overlaps, set_overlap
from pages.components.keys import HELP, LABEL_KEYS, key_card
from pages.shared import guarded, require_role, store
from pages.text import plain

user = require_role("admin")
st.title("Review")

current = overlaps(store())
with st.sidebar:
    datasets = tuple(st.multiselect("Datasets", list(current), key="review_datasets", placeholder="all"))

st.subheader("Overlap")
st.caption("How many annotators label each candidate of a dataset.")
if current:
    with st.form("review_overlap"):
        c1, c2 = st.columns(2)
        name = c1.selectbox("Dataset", list(current), key="review_overlap_dataset")
        k = c2.number_input("Overlap k", min_value=1, max_value=20, value=2, key="review_overlap_k")
        if st.form_submit_button("Set overlap"):
            try:
                set_overlap(store(), user["id"], name, int(k))
                current[name] = int(k)
                st.success(f"{plain(name)}: each candidate now gets {int(k)} labels.")
            except NearmissError as e:
                st.error(plain(e))
    st.dataframe(pd.DataFrame(sorted(current.items()), columns=["dataset", "overlap"]), hide_index=True,
                 key="review_overlaps")

st.subheader("Agreement")
left, right = st.columns(2)
pairs = pairwise(store(), datasets=datasets)
left.caption("Cohen's kappa per annotator pair")
left.dataframe(pd.DataFrame([vars(p) for p in pairs], columns=["a", "b", "shared", "agreement", "kappa"]),
               hide_index=True, key="review_cohen")
right.caption("Fleiss' kappa per dataset (candidates with 2+ labels)")
right.dataframe(pd.DataFrame([vars(d) for d in per_dataset(store(), datasets=datasets)],
                             columns=["dataset", "candidates", "labels", "kappa"]), hide_index=True,
                key="review_fleiss")

sources = final_sources(store(), datasets=datasets)
st.caption("Final labels: " + (", ".join(f"{n} by {s}" for s, n in sorted(sources.items())) or "none yet")
           + ". Final = adjudication, else majority; ties wait for adjudication.")

st.subheader("Disagreements")
open_ = disagreements(store(), datasets=datasets)
if open_:
    st.dataframe(pd.DataFrame([{"dataset": d.dataset, "question": d.question, "candidate": d.text,
                                **{f"vote: {a}": lab for a, lab in d.votes.items()}} for d in open_]),
                 hide_index=True, key="review_disagreements")

desk = st.session_state.get("review_desk")
if desk is None or desk.datasets != datasets or desk.admin_id != user["id"]:
    desk = st.session_state["review_desk"] = ReviewDesk(store(), user["id"], datasets)


@st.fragment
def adjudicate() -> None:
    st.caption("Adjudicate by key: the label you press is final for the candidate on the card.")
    view = desk.view()
    key_card(view, key="review_keys", on_press=guarded(desk.press, "admin"), mode="review", keys=LABEL_KEYS,
             stats={"open disagreements": desk.open},
             empty="No open disagreements. Backspace undoes your last adjudication.",
             help=HELP.replace("skip this one", "leave it for later").replace("your last 10 decisions",
                                                                            "your last 10 adjudications"))


adjudicate()
