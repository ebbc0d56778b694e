"""Datasets (admin): load a bundled benchmark or upload a file (a run of kind load, in a thread of the
server: its job card shows while it loads, with Cancel); rename or delete what is loaded."""
from concurrent.futures import Future
from pathlib import Path

import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.app.text import plain
from nearmiss.app.widgets import followed_job, start_job
from nearmiss.errors import LoadErrors, NearmissError, RunStopped
from nearmiss.load.datasets import dataset_stats, delete_dataset, label_count, rename_dataset
from nearmiss.load.ingest import LoadResult
from nearmiss.load.limits import MAX_UPLOAD_MB
from nearmiss.load.mappings import remember_mapping, remembered_mapping
from nearmiss.load.run import (
    bundled_sources,
    bundled_splits,
    discard_staged,
    load_source,
    load_upload,
    preview_upload,
    stage_upload,
)
from nearmiss.load.sources import FILE_FORMATS
from nearmiss.load.sources.mcqa import FieldMap

user = require_role("admin")
st.title("Datasets")
NONE = "(none)"
SINGLE_FIELDS = ("question", "answer", "context", "id")
LOAD = "ds_load"  # where this session follows its load


def show_error(e: NearmissError) -> None:
    """The error as text (file names and values come from the user): every bad row when there are several."""
    if isinstance(e, LoadErrors):
        more = f", and {e.more} more not listed" if e.more else ""
        st.error(f"Nothing was stored: {len(e.errors)} bad rows{more}. Fix them and upload the file again.")
        st.code("\n".join(str(x) for x in e.errors), language=None, wrap_lines=True)
    else:
        st.error("Refused; nothing was changed:")
        st.code(str(e), language=None, wrap_lines=True)


def load_ended(future: Future) -> None:
    """A load this session started has ended: its summary, its errors, or that it was cancelled."""
    try:
        result = future.result()
    except RunStopped:
        st.warning("The load was cancelled; what it stored was undone, except items annotators had labeled meanwhile.")
        return
    except NearmissError as e:
        show_error(e)
        return
    st.success(plain(result.summary().capitalize() + "."))
    remember = st.session_state.pop("ds_load_mapping", None)
    if remember:
        remember_mapping(store(), *remember)


def staged_upload(upload) -> dict | None:
    """The upload copied to disk once (per file) with its preview; None (error shown) if refused."""
    staged = st.session_state.get("ds_staged")
    if staged and staged["file_id"] == upload.file_id:
        return staged
    if staged:
        discard_staged(Path(staged["path"]))
        st.session_state.pop("ds_staged")
    upload.seek(0)
    try:
        path = stage_upload(upload, upload.name, max_mb=MAX_UPLOAD_MB)
        preview = preview_upload(path, upload.name)
    except NearmissError as e:
        show_error(e)
        return None
    staged = st.session_state["ds_staged"] = {"file_id": upload.file_id, "path": str(path), "preview": preview}
    return staged


def mapping_pickers(columns: list[str], guessed: FieldMap, file_id: str) -> FieldMap:
    """One picker per item field; choices as an ordered pick of fields."""
    start = remembered_mapping(store(), columns)
    if start is not None:
        st.caption("Mapping remembered from an earlier file with the same fields.")
    start = start or guessed
    cols = st.columns(len(SINGLE_FIELDS))
    picked = {}
    for col, key in zip(cols, SINGLE_FIELDS):
        options = [NONE, *columns]
        value = getattr(start, key)
        picked[key] = col.selectbox(key, options, index=options.index(value) if value in columns else 0,
                                    key=f"ds_map_{key}_{file_id}")
    choices = st.multiselect("choices (in order: a list field, or one field per choice)", columns,
                             default=[c for c in start.choices if c in columns], key=f"ds_map_choices_{file_id}")
    return FieldMap(choices=choices, **{k: None if v == NONE else v for k, v in picked.items()})


bundled_tab, upload_tab = st.tabs(["Bundled benchmark", "Upload a file"])
with bundled_tab:
    name = st.selectbox("Benchmark", bundled_sources(), key="ds_bundled_name")
    split = st.selectbox("Split", bundled_splits(name), key=f"ds_bundled_split_{name}")  # a new benchmark, a new picker
    limit = st.number_input("Limit (0 = all)", min_value=0, value=0, step=50, key="ds_bundled_limit")
    if st.button("Load benchmark", key="ds_bundled_load", type="primary", disabled=LOAD in st.session_state):
        db = store()
        start_job(LOAD, "load", {"source": name, "dataset": name, "split": split},
                  lambda report: load_source(db, name, split=split, limit=limit or None, report=report),
                  LoadResult.summary)

with upload_tab:
    upload = st.file_uploader("JSONL, JSON, CSV or Parquet", type=["jsonl", "json", "csv", "parquet"],
                              key="ds_upload_file", max_upload_size=MAX_UPLOAD_MB)
    if upload is None and "ds_staged" in st.session_state and LOAD not in st.session_state:  # removed from the uploader
        # (kept while this session's load still reads it)
        discard_staged(Path(st.session_state.pop("ds_staged")["path"]))
    staged = staged_upload(upload) if upload is not None else None
    if upload is not None and staged is not None:
        preview, path = staged["preview"], Path(staged["path"])
        st.caption(f"First rows of the file ({preview.total:,} rows)" if preview.total else "First rows of the file")
        st.dataframe(pd.DataFrame(preview.rows).astype(str), hide_index=True, key="ds_upload_preview")
        formats = list(FILE_FORMATS)
        fmt = st.selectbox("Format", formats, index=formats.index(preview.format), key="ds_upload_format",
                           format_func=lambda f: f"{f}: {FILE_FORMATS[f].help}")
        fm = mapping_pickers(preview.columns, preview.mapping, upload.file_id) if fmt == "mcqa" else None
        unmapped = fm.unmapped() if fm else []
        if unmapped:
            st.warning(f"Map {', '.join(unmapped)} to a field of the file to load it.")
        c1, c2 = st.columns(2)
        dataset = c1.text_input("Dataset name", value=Path(upload.name).stem, key=f"ds_upload_name_{upload.file_id}")
        split_name = c2.text_input("Split", value="train", key="ds_upload_split")
        if st.button("Load file", key="ds_upload_load", type="primary",
                     disabled=bool(unmapped) or LOAD in st.session_state):
            st.session_state["ds_load_mapping"] = (preview.columns, fm) if fm is not None else None
            db, file_name, total = store(), upload.name, preview.total
            start_job(LOAD, "load", {"source": file_name, "dataset": dataset, "split": split_name},
                      lambda report: load_upload(db, path, file_name, dataset=dataset, split=split_name, mapping=fm,
                                                 fmt=fmt, report=report, total=total), LoadResult.summary)

ended = followed_job("datasets", LOAD)  # the load this session started: its job card, then its outcome
if ended:
    load_ended(ended)

st.subheader("Loaded")
stats = dataset_stats(store())
if not stats:
    st.info("The store is empty.")
    st.stop()
st.dataframe(pd.DataFrame([s.as_dict() for s in stats]), hide_index=True, key="datasets_table")

with st.expander("Rename or delete a dataset"):
    target = st.selectbox("Dataset", sorted({s.name for s in stats}), key="ds_manage_name")
    new_name = st.text_input("New name", value=target, key=f"ds_rename_{target}")
    renaming = new_name.strip() not in ("", target)
    sure_rename = renaming and st.checkbox("Rename this dataset to the new name (its labels, guidelines and runs "
                                           "follow it)", key=f"ds_rename_sure_{target}")  # names never as Markdown
    if st.button("Rename", key="ds_rename", disabled=not sure_rename):
        try:
            rename_dataset(store(), user["id"], target, new_name)
            st.rerun()
        except NearmissError as e:
            show_error(e)
    labels = label_count(store(), target)
    items = sum(s.items for s in stats if s.name == target)
    what = f"{items:,} items" + (f" and {labels:,} labels (export them first, on the Export page)" if labels else "")
    sure = st.checkbox(f"Delete this dataset with its {what}", key=f"ds_delete_sure_{target}")
    if st.button("Delete dataset", key="ds_delete", disabled=not sure):
        try:
            delete_dataset(store(), user["id"], target, delete_labels=sure)
            st.rerun()
        except NearmissError as e:
            show_error(e)
