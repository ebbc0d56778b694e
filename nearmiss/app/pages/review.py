"""Review (admin): overlap per dataset, agreement, per-annotator figures, comments and
flags, guidelines, and adjudication of disagreements by key."""
import pandas as pd
import streamlit as st

from nearmiss.app.boundary import fragment
from nearmiss.app.components.keys import LABEL_KEYS, REVIEW_HELP, key_card
from nearmiss.app.shared import guarded, require_role, store
from nearmiss.app.text import plain
from nearmiss.errors import NearmissError
from nearmiss.label.agreement import disagreements, pairwise, per_annotator, per_dataset, remarks
from nearmiss.label.desk import ReviewDesk
from nearmiss.label.guidelines import guideline, save_guideline
from nearmiss.label.labels import final_sources, sources_in_words
from nearmiss.label.queue import overlaps, set_overlap
from nearmiss.label.ranker import DEFAULT_THRESHOLD, suggestion_history

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

st.caption("Per annotator: standing decisions, median seconds between consecutive decisions (breaks over 10 "
           "minutes left out), agreement of their votes with the final label of the others' votes (their own vote "
           "left out; candidates nobody else decided are not counted) and with the suggested label, and decisions "
           "stored after their hold on the candidate had expired.")
st.dataframe(pd.DataFrame([vars(f) for f in per_annotator(store(), datasets=datasets)],
                          columns=["annotator", "decisions", "median_seconds", "with_final", "with_suggestion",
                                   "comments", "flagged", "late"]),
             hide_index=True, key="review_annotators",
             column_config={"median_seconds": st.column_config.NumberColumn("median s / decision", format="%.1f"),
                            "with_final": st.column_config.NumberColumn("agrees with others", format="percent"),
                            "with_suggestion": st.column_config.NumberColumn("agrees with suggestion",
                                                                             format="percent"),
                            "late": st.column_config.NumberColumn("on expired lease")})

sources = final_sources(store(), datasets=datasets)
st.caption(f"Final labels: {sources_in_words(sources)}. Final = adjudication, else the majority of votes, else (a "
           "failed trajectory nobody decided) its outcome; a tie has no final label until an admin adjudicates it.")

st.subheader("Suggestions")
st.caption(f"Per ranker version: the share of cards whose suggestion is at least {DEFAULT_THRESHOLD:.0%} sure, and "
           "how often the final labels agreed with those suggestions (out of fold).")
st.dataframe(pd.DataFrame([{"dataset": d, **v} for d in (datasets or current) for v in suggestion_history(store(), d)],
                          columns=["dataset", "version", "model", "labels", "threshold", "coverage", "agreement",
                                   "agreement_labels"]), hide_index=True, key="review_suggestions")

st.subheader("Disagreements")
open_ = disagreements(store(), datasets=datasets)
if open_:
    st.dataframe(pd.DataFrame([{"dataset": d.dataset, "question": d.question, "candidate": d.text,
                                **{f"vote: {a}": lab for a, lab in d.votes.items()},
                                **{f"comment: {a}": note for a, note in d.notes.items()}} for d in open_]),
                 hide_index=True, key="review_disagreements")

st.subheader("Comments and flags")
notes = remarks(store(), datasets=datasets)
flagged = sum(r.flagged for r in notes)
st.caption(f"Standing decisions with a comment or a flag (needs discussion): {len(notes)}, flagged {flagged}.")
if notes:
    st.dataframe(pd.DataFrame([{"flagged": r.flagged, "dataset": r.dataset, "question": r.question,
                                "candidate": r.text, "annotator": r.annotator, "label": r.label,
                                "comment": r.comment, "at": r.at} for r in notes]),
                 hide_index=True, key="review_remarks")

held = st.session_state.get("review_desk")
if held is None or held.datasets != datasets or held.admin_id != user["id"]:
    held = st.session_state["review_desk"] = ReviewDesk(store(), user["id"], datasets)
desk: ReviewDesk = held


@fragment()
def adjudicate() -> None:
    st.caption("Adjudicate by key: the label you press is final for the candidate on the card.")
    view = desk.view()
    key_card(view, key="review_keys", on_press=guarded(desk.press, "admin"), mode="review", keys=LABEL_KEYS,
             stats={"open disagreements": desk.open},
             empty="No open disagreements. Backspace undoes your last adjudication.",
             help=REVIEW_HELP)


adjudicate()

st.subheader("Guidelines")
st.caption("Markdown per dataset, shown on the Label page. Every save is a new version; each decision records "
           "the version that was on screen.")
if current:
    name = st.selectbox("Dataset", list(current), key="review_guidelines_dataset")
    latest = guideline(store(), name)
    with st.form("review_guidelines"):
        text = st.text_area("Guidelines (Markdown)", value=latest.text if latest else "", height=220,
                            key=f"review_guidelines_text_{name}_{latest.version if latest else 0}")
        if st.form_submit_button("Save as a new version"):
            try:
                version = save_guideline(store(), user["id"], name, text)
                st.success(f"Saved version {version}.")
            except NearmissError as e:
                st.error(str(e))
    if latest:
        st.text(f"Current: version {latest.version} by {latest.author}, {latest.at:%Y-%m-%d %H:%M} UTC")
