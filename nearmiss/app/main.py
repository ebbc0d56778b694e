"""nearmiss app: routes only. Every page is routable, so a deep link survives sign-in; the
menu shows the pages of the user's role, and each admin page checks the role itself, so a
page asked for by URL is refused on the server. A failure no page handled shows one line with
an error id (nearmiss/app/boundary.py).

Run: nearmiss app   (it serves this script through nearmiss/app/server.py: the upload gate
and the proxy settings)
"""
import streamlit as st

from nearmiss.app.boundary import error_boundary
from nearmiss.app.shared import awaiting_token, current_user, keep_token, sign_out, store
from nearmiss.app.sign_in import set_password_form, sign_in_form
from nearmiss.app.text import plain
from nearmiss.auth.accounts import demo_accounts

# Pages per role, in menu order. Admins get every list.
ANNOTATOR_PAGES = [("pages/home.py", "Home", "home"), ("pages/label.py", "Label", "label"),
                   ("pages/progress.py", "My progress", "progress"), ("pages/history.py", "History", "history")]
ADMIN_PAGES = [("pages/datasets.py", "Datasets", "datasets"), ("pages/review.py", "Review", "review"),
               ("pages/export.py", "Export", "export"), ("pages/mine.py", "Mine", "mine"),
               ("pages/train.py", "Train", "train"), ("pages/jobs.py", "Jobs", "jobs"),
               ("pages/accounts.py", "Accounts", "accounts")]


def pages(role: str | None) -> list:
    """Every page; those the role may not open are routable but hidden from the menu."""
    shown = {p for p, _, _ in ANNOTATOR_PAGES} | ({p for p, _, _ in ADMIN_PAGES} if role == "admin" else set())
    return [st.Page(path, title=title, url_path=url, default=url == "home",
                    visibility="visible" if path in shown else "hidden")
            for path, title, url in ANNOTATOR_PAGES + ADMIN_PAGES]


def route() -> None:
    """Sign in, the menu, and the page asked for (``page.run()`` raises what the page raises)."""
    user = current_user()
    role = None if user is None or user["must_change"] else user["role"]  # no menu until a password is set
    if role == "admin" and (demo := demo_accounts(store())):
        st.warning(f"{len(demo)} account(s) still have the demo password ({plain(', '.join(demo))}). Anyone who "
                   "can reach this app can sign in with it and set their own: on the Accounts page, pick each "
                   "account and Reset password.", icon="⚠️")
    page = st.navigation(pages(role), position="sidebar" if role else "hidden")
    keep_token()  # after the navigation: the browser's answer must rerun the page it asked for
    if user is None:
        if not awaiting_token():  # a reload or a new tab: the browser sends its stored token first
            sign_in_form()
        return
    with st.sidebar:
        st.text(f"Signed in as {user['name']} ({user['role']})")  # a name is shown as text, never Markdown
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
    if user["must_change"]:  # a one-time or demo password: no page until the account sets its own
        set_password_form(user)
        return
    page.run()


st.set_page_config(page_title="nearmiss", layout="wide")
with error_boundary():  # whatever fails shows one line with an id; the traceback goes to the server log
    route()
