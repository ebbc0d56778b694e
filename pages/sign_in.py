"""Sign-in form."""
import streamlit as st

from curator.labeling.accounts import authenticate
from pages.shared import sign_in, store

st.title("nearmiss")
if st.session_state.pop("expired", False):
    st.info("Your session expired; please sign in again.")
with st.form("signin"):
    name = st.text_input("Name", key="signin_name")
    password = st.text_input("Password", type="password", key="signin_password")
    submitted = st.form_submit_button("Sign in")
if submitted:
    user = authenticate(store(), name, password)
    if user is None:
        st.error("Unknown name or wrong password.")
    else:
        sign_in(user.id, user.name, user.role)
        st.rerun()
