"""Datasets (admin): what the store holds."""
import pandas as pd
import streamlit as st

from curator.datasets import dataset_stats
from pages.shared import require_role, store

require_role("admin")
st.title("Datasets")
stats = dataset_stats(store())
if not stats:
    st.info("The store is empty. Load data with `nearmiss load SOURCE`.")
else:
    st.dataframe(pd.DataFrame([s.as_dict() for s in stats]), hide_index=True, key="datasets_table")
