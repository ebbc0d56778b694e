"""Export (admin): pick filters and see live what an export would hold; write it in a
training format (a run of kind export, in a thread of the server: its job card shows while it
writes, with Cancel) and download the files."""
import shutil
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.app.text import plain
from nearmiss.app.widgets import followed_job, start_job
from nearmiss.errors import NearmissError, RunStopped
from nearmiss.export import (
    FORMATS,
    ExportConfig,
    ExportFilters,
    download_folder,
    export,
    export_record,
    export_summary,
    nearness_bounds,
    preview,
    zip_folder,
)
from nearmiss.export.config import EXPORT_LABELS, HIR_TEMPLATE
from nearmiss.label.labels import sources_in_words
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.load.datasets import dataset_stats
from nearmiss.settings import help_of
from nearmiss.store.schema import ORIGINS

F, C = ExportFilters, ExportConfig
JOB = "export_job"  # where this session follows its export

require_role("admin")
st.title("Export")
stats = dataset_stats(store())
if not stats:
    st.info("The store is empty: load a dataset on the Datasets page first.")
    st.stop()

st.subheader("What to export")
left, mid, right = st.columns(3)
labels = left.multiselect("Final labels", list(EXPORT_LABELS), default=list(EXPORT_LABELS), key="export_labels",
                          help=help_of(F, "labels"))
origins = left.multiselect("Origins (empty: all)", list(ORIGINS), key="export_origins", help=help_of(F, "origins"))
datasets = mid.multiselect("Datasets (empty: all)", sorted({s.name for s in stats}), key="export_datasets",
                           help=help_of(F, "datasets"))
splits = mid.multiselect("Source splits (empty: all)", sorted({s.split for s in stats}), key="export_splits",
                         help=help_of(F, "splits"))
min_annotators = right.number_input("Min annotators", 1, 50, 1, key="export_min_annotators",
                                    help=help_of(F, "min_annotators"))
min_agreement = right.slider("Min agreement", 0.0, 1.0, 0.0, 0.05, key="export_min_agreement",
                             help=help_of(F, "min_agreement"))
unlabeled = st.checkbox("Include unlabeled distractors", key="export_unlabeled",
                        help=help_of(F, "include_unlabeled_distractors"))
near_lo = near_hi = None
bounds = nearness_bounds(store())
if bounds and bounds[0] < bounds[1] and st.checkbox("Filter by nearness", key="export_use_nearness"):
    near_lo, near_hi = st.slider("Nearness range", bounds[0], bounds[1], bounds, key="export_nearness")

try:
    filters = ExportFilters(labels=labels, min_annotators=int(min_annotators), min_agreement=min_agreement,
                            nearness_min=near_lo, nearness_max=near_hi, origins=origins, datasets=datasets,
                            splits=splits, include_unlabeled_distractors=unlabeled)
    selection = preview(store(), filters)
except NearmissError as e:
    st.error(plain(e))
    st.stop()

counts = selection.counts()
a, b, c = st.columns(3)
a.metric("Items", counts["items"])
b.metric("Negatives", counts["negatives"])
c.metric("Left out", sum(counts["removed"].values()))
if counts["negatives"]:
    st.caption(f"Where the labels came from: {sources_in_words(counts['by_label_source'])}.")
    chart = alt.Chart(pd.DataFrame(selection.label_origin_counts())).mark_bar().encode(
        x=alt.X("negatives:Q", title="negatives"), y=alt.Y("label:N", title="final label"),
        color=alt.Color("origin:N"), tooltip=["label", "origin", "negatives"])
    st.altair_chart(chart, width="stretch", key="export_chart")
if counts["removed"]:
    with st.expander("Left out, by reason"):
        st.dataframe(pd.DataFrame([{"reason": r, "count": n} for r, n in counts["removed"].items()]),
                     hide_index=True, key="export_removed_table")

st.subheader("Format")
left, mid, right = st.columns(3)
fmt = left.selectbox("Format", list(FORMATS), format_func=lambda k: f"{k}: {FORMATS[k].help}", key="export_format")
style = mid.selectbox("Style", FORMATS[fmt].styles, key=f"export_style_{fmt}", help=help_of(C, "style"))
parquet = mid.checkbox("Parquet", key="export_parquet", help=help_of(C, "parquet"))
val_fraction = right.slider("Validation share (by item)", 0.0, 0.5, 0.1, 0.05, key="export_val_fraction",
                            help=help_of(C, "val_fraction"))
seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="export_seed", help=help_of(C, "seed"))
markers, template = (NAT_CORRECT, NAT_INCORRECT), HIR_TEMPLATE
if fmt == "nat":
    markers = (st.text_input("Correct marker", NAT_CORRECT, key="export_correct_marker",
                             help=help_of(C, "correct_marker")),
               st.text_input("Incorrect marker", NAT_INCORRECT, key="export_incorrect_marker",
                             help=help_of(C, "incorrect_marker")))
if fmt == "hir":
    template = st.text_area("Relabel template", HIR_TEMPLATE, key="export_hir_template",
                            help=help_of(C, "hir_template"))

if st.button("Export", key="export_run", type="primary", disabled=not counts["negatives"] or JOB in st.session_state):
    previous = st.session_state.pop("export_result", None)
    if previous:
        shutil.rmtree(Path(previous["out"]).parent, ignore_errors=True)
    out = download_folder() / f"nearmiss-{fmt}"
    try:
        cfg = ExportConfig(format=fmt, out=out, filters=filters, style=style, parquet=parquet,
                           val_fraction=val_fraction, seed=int(seed), correct_marker=markers[0],
                           incorrect_marker=markers[1], hir_template=template)
    except NearmissError as e:
        shutil.rmtree(out.parent, ignore_errors=True)
        st.error(plain(e))
    else:
        db = store()
        st.session_state["export_out"] = str(out)
        start_job(JOB, "export", export_record(cfg), lambda report: export(db, cfg, report), export_summary)

ended = followed_job("export", JOB)  # the export this session started: its job card, then its outcome
if ended:
    out = Path(st.session_state.pop("export_out"))
    try:
        st.session_state["export_result"] = {"out": str(out), "manifest": ended.result()}
    except RunStopped:
        shutil.rmtree(out.parent, ignore_errors=True)
        st.warning("The export was cancelled; no files were kept.")
    except NearmissError as e:
        shutil.rmtree(out.parent, ignore_errors=True)
        st.error(plain(e))

result = st.session_state.get("export_result")
if result:
    out, manifest = Path(result["out"]), result["manifest"]
    sel = manifest["selection"]
    sides = ", ".join(f"{name} {n} items" for name, n in manifest["split"]["items"].items())
    st.success(f"{manifest['format']} ({manifest['style']}): {sel['items']} items, {sel['negatives']} negatives "
               f"({sides})")
    # contents are read from disk only when a button is clicked (and the zip built once, from disk)
    st.download_button("Download all (zip)", lambda: zip_folder(out).read_bytes(), file_name=f"{out.name}.zip",
                       mime="application/zip", key="export_download_zip", type="primary")
    singles = [p for p in manifest["files"] if p in manifest["tables"]] + ["manifest.json"]
    for i, rel in enumerate(singles):
        st.download_button(rel, (out / rel).read_bytes, file_name=f"{out.name}-{rel.replace('/', '-')}",
                           key=f"export_download_{i}")
    with st.expander("Manifest"):
        st.json(manifest)
