"""Small widgets the pages share."""
import streamlit as st

from nearmiss.app.shared import guarded, store
from nearmiss.app.text import plain
from nearmiss.errors import NearmissError
from nearmiss.jobs.runs import cancel


def cancel_button(run_id: int, page: str) -> None:
    """A button that cancels a pending or running run (admins) and says what happened."""
    if st.button("Cancel run", key=f"{page}_cancel_{run_id}", help="Stop its process; what it stored so far stays."):
        try:
            st.toast(guarded(cancel, "admin")(store(), run_id))
        except NearmissError as e:
            st.error(plain(e))
