"""Sign-in form, shown in place of whatever page was asked for (the URL stays, so that page
opens once signed in)."""
import streamlit as st

from nearmiss.app.shared import sign_in, store
from nearmiss.auth.accounts import sign_in as check_sign_in
from nearmiss.errors import SignInRefused


def client_address() -> str:
    """Who is trying, for the throttle: the connection's address (None on localhost)."""
    return st.context.ip_address or "localhost"


def sign_in_form() -> None:
    st.title("nearmiss")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    with st.form("signin"):
        name = st.text_input("Name", key="signin_name")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            user = check_sign_in(store(), name, password, client_address())
        except SignInRefused as e:
            st.error(str(e))
            return
        sign_in(user.id)
        st.rerun()
