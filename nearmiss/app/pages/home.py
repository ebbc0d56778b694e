"""Home: the signed-in user's overview."""
import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.app.text import plain
from nearmiss.load.datasets import dataset_stats

user = require_role("annotator")
st.title(f"Welcome, {plain(user['name'])}")
stats = dataset_stats(store())
st.subheader("Loaded datasets")
if stats:
    st.dataframe(pd.DataFrame([s.as_dict() for s in stats]), hide_index=True, key="home_datasets")
else:
    st.info("No datasets loaded yet.")
