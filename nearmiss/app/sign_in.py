"""Sign-in form, shown in place of whatever page was asked for (the URL stays, so that page
opens once signed in), and the form an account with a one-time or demo password must fill in
(its own password, typed twice) before any page works. Each attempt runs in the button's
callback, which empties the password fields (and an over-long name) at once, so none stays in
this tab's state; a connection from a foreign origin gets no form at all
(``shared.foreign_origin``)."""
import streamlit as st

from nearmiss.app.shared import current_user, foreign_origin, sign_in, store
from nearmiss.app.text import plain
from nearmiss.auth.accounts import MIN_PASSWORD, confirmed, set_own_password
from nearmiss.auth.accounts import sign_in as check_sign_in
from nearmiss.auth.names import MAX_NAME, MAX_PASSWORD
from nearmiss.errors import NearmissError, SignInRefused


def client_address() -> str:
    """Who is trying, for the throttle: the connection's address (a trusted proxy's client,
    see ``nearmiss.app.serving``), "localhost" on loopback."""
    return st.context.ip_address or "localhost"


def _attempt() -> None:
    name, password = st.session_state.get("signin_name", ""), st.session_state.get("signin_password", "")
    st.session_state["signin_password"] = ""
    if len(name) > MAX_NAME:
        st.session_state["signin_name"] = ""
    try:
        user = check_sign_in(store(), name, password, client_address())
    except SignInRefused as e:
        st.session_state["signin_error"] = str(e)
        return
    sign_in(user.id)


def sign_in_form() -> None:
    st.title("nearmiss")
    foreign = foreign_origin()
    if foreign is not None:
        st.error(f"This page was opened from {plain(foreign)}, not from this app's own address, so it cannot sign "
                 "in: open the app at its own address (behind a proxy, start it with nearmiss app --public-url URL).")
        return
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    with st.form("signin"):
        st.text_input("Name", key="signin_name", max_chars=MAX_NAME + 1)  # longer: cut to this, then refused
        st.text_input("Password", type="password", key="signin_password", max_chars=MAX_PASSWORD + 1)
        st.form_submit_button("Sign in", on_click=_attempt)
    error = st.session_state.pop("signin_error", None)
    if error:
        st.error(error)


def _set_own() -> None:
    new, again = st.session_state.get("newpw_password", ""), st.session_state.get("newpw_again", "")
    st.session_state["newpw_password"] = st.session_state["newpw_again"] = ""
    try:
        user = current_user()
        if user is None:
            return  # signed out meanwhile: the next run shows the sign-in form
        set_own_password(store(), user["id"], user["session"], confirmed(new, again))
    except NearmissError as e:
        st.session_state["newpw_error"] = str(e)


def set_password_form(user: dict) -> None:
    """Ask an account with a one-time or demo password for its own, twice."""
    st.title("Choose your password")
    st.text(f"{user['name']}: you signed in with a password someone gave you (a one-time or demo password). "
            f"Choose your own to go on: at least {MIN_PASSWORD} characters, not the one you were given. "
            "Your other sign-ins are signed out.")
    with st.form("newpw"):
        st.text_input("New password", type="password", key="newpw_password", max_chars=MAX_PASSWORD)
        st.text_input("New password again", type="password", key="newpw_again", max_chars=MAX_PASSWORD)
        st.form_submit_button("Set password", on_click=_set_own)
    error = st.session_state.pop("newpw_error", None)
    if error:
        st.error(plain(error))
