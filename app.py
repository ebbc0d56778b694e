"""nearmiss app: routes only. Which pages a user gets depends on the role; each admin
page also checks the role itself, so a page asked for by URL is refused on the server.

Run: nearmiss app   (or: streamlit run app.py with NEARMISS_DB set)
"""
import streamlit as st

from pages.shared import current_user, sign_out

# Pages per role, in menu order. Admins get every list.
ANNOTATOR_PAGES = [st.Page("pages/home.py", title="Home", url_path="home", default=True),
                   st.Page("pages/label.py", title="Label", url_path="label"),
                   st.Page("pages/progress.py", title="My progress", url_path="progress"),
                   st.Page("pages/history.py", title="History", url_path="history")]
ADMIN_PAGES = [st.Page("pages/datasets.py", title="Datasets", url_path="datasets"),
               st.Page("pages/review.py", title="Review", url_path="review"),
               st.Page("pages/export.py", title="Export", url_path="export"),
               st.Page("pages/mine.py", title="Mine", url_path="mine"),
               st.Page("pages/train.py", title="Train", url_path="train")]

st.set_page_config(page_title="nearmiss", layout="wide")
user = current_user()
if user is None:
    pages = [st.Page("pages/sign_in.py", title="Sign in", url_path="sign-in", default=True)]
else:
    pages = ANNOTATOR_PAGES + (ADMIN_PAGES if user["role"] == "admin" else [])
    with st.sidebar:
        st.caption(f"Signed in as **{user['name']}** ({user['role']})")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
st.navigation(pages).run()
