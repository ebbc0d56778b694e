"""Datasets (admin): load a bundled benchmark or upload a file, and see what is loaded."""
import pandas as pd
import streamlit as st

from curator.datasets import dataset_stats
from curator.errors import NearmissError
from curator.loaders import FILE_FORMATS
from curator.loaders.mcqa import FIELDS
from curator.loading import bundled_sources, bundled_splits, load_source, load_upload, preview_upload
from pages.text import plain
from pages.shared import require_role, store

require_role("admin")
st.title("Datasets")


def run_load(load, total: int | None) -> None:
    """Run a load with a progress bar; show the result or the loader's error."""
    bar, done = st.progress(0.0, text="loading..."), [0]

    def on_batch(n: int) -> None:
        done[0] += n
        bar.progress(min(done[0] / total, 1.0) if total else 0.5, text=f"{done[0]:,} rows read")

    try:
        result = load(on_batch)
    except NearmissError as e:
        bar.empty()
        st.error(plain(e))
        return
    bar.progress(1.0, text="done")
    st.success(f"Read {result.read:,}: added {result.items_added:,} items "
               f"({result.items_updated:,} updated) and {result.candidates_added:,} candidates.")


bundled_tab, upload_tab = st.tabs(["Bundled benchmark", "Upload a file"])
with bundled_tab:
    name = st.selectbox("Benchmark", bundled_sources(), key="ds_bundled_name")
    split = st.selectbox("Split", bundled_splits(name), key="ds_bundled_split")
    limit = st.number_input("Limit (0 = all)", min_value=0, value=0, step=50, key="ds_bundled_limit")
    if st.button("Load benchmark", key="ds_bundled_load", type="primary"):
        run_load(lambda cb: load_source(store(), name, split=split, limit=limit or None, on_batch=cb), limit or None)

with upload_tab:
    upload = st.file_uploader("JSONL, JSON, CSV or Parquet", type=["jsonl", "json", "csv", "parquet"],
                              key="ds_upload_file")
    if upload is not None:
        data = upload.getvalue()
        try:
            preview = preview_upload(upload.name, data)
        except NearmissError as e:
            st.error(plain(e))
            preview = None
        if preview is not None:
            st.caption(f"First rows of {plain(upload.name)}" + (f" ({preview.total:,} rows)" if preview.total else ""))
            st.dataframe(pd.DataFrame(preview.rows).astype(str), hide_index=True, key="ds_upload_preview")
            formats = list(FILE_FORMATS)
            fmt = st.selectbox("Format", formats, index=formats.index(preview.format), key="ds_upload_format")
            mapping = ""
            if fmt == "mcqa":
                cols = st.columns(len(FIELDS))
                guessed = {k: getattr(preview.mapping, k) for k in FIELDS}
                entries = {}
                for col, key in zip(cols, FIELDS):
                    value = guessed[key]
                    value = "|".join(value) if isinstance(value, list) else (value or "")
                    entries[key] = col.text_input(key, value=value, key=f"ds_map_{key}_{upload.file_id}")
                mapping = ",".join(f"{k}={v}" for k, v in entries.items() if v)
            c1, c2 = st.columns(2)
            dataset = c1.text_input("Dataset name", value=upload.name.rsplit(".", 1)[0], key=f"ds_upload_name_{upload.file_id}")
            split_name = c2.text_input("Split", value="train", key="ds_upload_split")
            if st.button("Load file", key="ds_upload_load", type="primary"):
                run_load(lambda cb: load_upload(store(), upload.name, data, dataset=dataset, split=split_name,
                                                mapping=mapping or None, fmt=fmt, on_batch=cb), preview.total)

st.subheader("Loaded")
stats = dataset_stats(store())
if stats:
    st.dataframe(pd.DataFrame([s.as_dict() for s in stats]), hide_index=True, key="datasets_table")
else:
    st.info("The store is empty.")
