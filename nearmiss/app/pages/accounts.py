"""Accounts (admin): roles, enabled state and sign-in sessions; revoke sessions; recent failed sign-ins."""
import pandas as pd
import streamlit as st

from nearmiss.app.shared import require_role, store
from nearmiss.auth.accounts import failed_sign_ins, list_users, set_enabled, set_role
from nearmiss.auth.sessions import list_sessions, revoke_sessions
from nearmiss.errors import NearmissError

me = require_role("admin")
st.title("Accounts")

accounts = list_users(store())
st.dataframe(pd.DataFrame([{"name": a.name, "role": a.role, "enabled": a.enabled, "active sessions": a.active_sessions,
                            "demo password": a.demo_password} for a in accounts]), hide_index=True,
             key="accounts_table")
others = [a.name for a in accounts if a.name != me["name"]]
# one action per button, so changing one setting never rewrites another
ACTIONS = {"Make admin": lambda n: set_role(store(), n, "admin"),
           "Make annotator": lambda n: set_role(store(), n, "annotator"),
           "Disable": lambda n: set_enabled(store(), n, False),
           "Enable": lambda n: set_enabled(store(), n, True)}
if others:
    name = st.selectbox("Account", others, key="accounts_name")
    for col, (label, action) in zip(st.columns(len(ACTIONS)), ACTIONS.items()):
        if col.button(label, key=f"accounts_{label.lower().replace(' ', '_')}"):
            try:
                action(name)
                st.rerun()
            except NearmissError as e:
                st.error(str(e))
    st.caption("Disabling an account revokes its sessions; a role change applies on the account's next page or key. "
               "Your own account is changed from the command line (nearmiss user ...).")

st.subheader("Active sessions")
sessions = list_sessions(store())
if sessions:
    table = pd.DataFrame([{"id": x.id, "user": x.user, "created": x.created_at, "last seen": x.last_seen_at,
                           "expires": x.expires_at} for x in sessions])
    picked = st.dataframe(table, hide_index=True, key="accounts_sessions", on_select="rerun",
                          selection_mode="multi-row")
    ids = [int(table.iloc[i]["id"]) for i in picked.selection.rows]
    if st.button(f"Revoke {len(ids)} selected", key="accounts_revoke", disabled=not ids):
        revoke_sessions(store(), ids)
        st.rerun()
else:
    st.info("No active sessions.")

st.subheader("Failed sign-ins")
failures = failed_sign_ins()
if failures:
    st.dataframe(pd.DataFrame([{"name": f.name, "address": f.address, "failures": f.failures,
                                "last (s ago)": round(f.seconds_ago), "waits (s)": round(f.wait)} for f in failures]),
                 hide_index=True, key="accounts_failures")
    st.caption("Per name and address, in this server process, most first; forgotten after an idle hour.")
else:
    st.caption("No recent failed sign-ins.")
