"""Accounts (admin): add an account, reset a password (typed twice, or a one-time password shown
once), change a role, disable or enable, revoke sessions; the account log and recent failed
sign-ins. Each change runs in a button's callback through ``nearmiss.auth.accounts`` as the
admin signed in at that moment; the library logs it and refuses one that leaves no enabled
admin or disables the admin's own account."""
from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from nearmiss.app.shared import check_user, require_role, store
from nearmiss.app.text import plain
from nearmiss.auth.accounts import (
    add_user,
    confirmed,
    failed_sign_ins,
    list_users,
    one_time_password,
    revoke_sessions,
    set_enabled,
    set_password,
    set_role,
)
from nearmiss.auth.audit import Actor, account_log
from nearmiss.auth.names import MAX_NAME, MAX_PASSWORD
from nearmiss.auth.sessions import list_sessions
from nearmiss.errors import NearmissError
from nearmiss.store.schema import ROLES

ONE_TIME, TYPED = "One-time password (shown once; they choose their own at first sign-in)", "Type a password"


def _chosen_password(prefix: str) -> tuple[str, bool]:
    """The password picked in the ``prefix`` fields, and whether it is a one-time password."""
    if st.session_state.get(f"{prefix}_how", ONE_TIME) == ONE_TIME:
        return one_time_password(), True
    return confirmed(st.session_state.get(f"{prefix}_pw", ""), st.session_state.get(f"{prefix}_again", "")), False


def _change(change: Callable[[Actor], str], prefix: str | None = None) -> None:
    """Run ``change`` as the admin signed in now; keep its one-line outcome (or error) for this run.
    With ``prefix``, the password fields of that form are emptied whatever happens."""
    try:
        user = check_user("admin")
        st.session_state["accounts_done"] = change(Actor(user["name"], user["id"]))
    except NearmissError as e:
        st.session_state["accounts_error"] = str(e)
    finally:
        if prefix is not None:
            st.session_state[f"{prefix}_pw"] = st.session_state[f"{prefix}_again"] = ""


def _issued(name: str, password: str, one_time: bool) -> str:
    if one_time:  # shown on the next run only, then gone
        st.session_state["accounts_issued"] = (name, password)
    return f"{name}: password set" + (", one-time" if one_time else "")


def _add(by: Actor) -> str:
    name, role = st.session_state.get("accounts_new_name", ""), st.session_state.get("accounts_new_role", "annotator")
    password, one_time = _chosen_password("accounts_new")
    user = add_user(store(), name, role, password, by=by, must_change=one_time, replace=False)
    st.session_state["accounts_new_name"] = ""
    return f"account {user.name} ({user.role}) added; " + _issued(user.name, password, one_time)


def _picked(action: Callable[[str, Actor], str], drawn: str, by: Actor) -> str:
    """``action`` on the account the picker shows when the button is pressed (a browser sends the
    picker's value with the press), else on the one it showed when the button was drawn."""
    return action(st.session_state.get("accounts_name", drawn), by)


def _reset(name: str, by: Actor) -> str:
    password, one_time = _chosen_password("accounts_reset")
    revoked = set_password(store(), name, password, by=by, must_change=one_time)
    return _issued(name, password, one_time) + f"; {revoked} session(s) revoked"


def _make(role: str, name: str, by: Actor) -> str:
    set_role(store(), name, role, by=by)
    return f"{name} is an {role}"


def _enable(enabled: bool, name: str, by: Actor) -> str:
    revoked = set_enabled(store(), name, enabled, by=by)
    return f"{name} enabled" if enabled else f"{name} disabled; {revoked} session(s) revoked"


def _revoke(ids: list[int], by: Actor) -> str:
    return f"{revoke_sessions(store(), ids, by=by)} session(s) revoked"


# one action per button, so changing one setting never rewrites another
ACTIONS: dict[str, Callable[[str, Actor], str]] = {
    "Make admin": partial(_make, "admin"), "Make annotator": partial(_make, "annotator"),
    "Disable": partial(_enable, False), "Enable": partial(_enable, True)}


def _password_fields(prefix: str) -> None:
    how = st.radio("Password", [ONE_TIME, TYPED], key=f"{prefix}_how", horizontal=True)
    if how == TYPED:
        left, right = st.columns(2)
        left.text_input("Password", type="password", key=f"{prefix}_pw", max_chars=MAX_PASSWORD)
        right.text_input("Password again", type="password", key=f"{prefix}_again", max_chars=MAX_PASSWORD)


me = require_role("admin")
st.title("Accounts")
issued = st.session_state.pop("accounts_issued", None)
if issued is not None:
    st.success(f"One-time password for {plain(issued[0])}, shown this once: give it to them now. They sign in "
               "with it and must choose their own before any page opens.")
    st.code(issued[1], language=None)
if (done := st.session_state.pop("accounts_done", None)) and issued is None:
    st.success(plain(done))
if error := st.session_state.pop("accounts_error", None):
    st.error(plain(error))

accounts = list_users(store())
st.dataframe(pd.DataFrame([{"name": a.name, "role": a.role, "enabled": a.enabled, "active sessions": a.active_sessions,
                            "must set password": a.must_change_password, "demo password": a.demo_password}
                           for a in accounts]), hide_index=True, key="accounts_table")
names = [a.name for a in accounts]
name = st.selectbox("Account", names, key="accounts_name",
                    index=next((i for i, n in enumerate(names) if n != me["name"]), 0))
for col, (label, action) in zip(st.columns(len(ACTIONS)), ACTIONS.items()):
    col.button(label, key=f"accounts_{label.lower().replace(' ', '_')}", on_click=_change,
               args=(partial(_picked, action, name),))
st.caption("Disabling an account revokes its sessions; a role change applies on the account's next page or key. "
           "The last enabled admin stays one, and no admin can disable their own account.")
with st.expander(f"Reset the password of {plain(name)}"):
    _password_fields("accounts_reset")
    st.button("Reset password", key="accounts_reset", on_click=_change,
              args=(partial(_picked, _reset, name), "accounts_reset"))
    st.caption("Signs the account out everywhere.")

st.subheader("Add an account")
left, right = st.columns(2)
left.text_input("Name", key="accounts_new_name", max_chars=MAX_NAME)
right.selectbox("Role", list(ROLES), key="accounts_new_role")
_password_fields("accounts_new")
st.button("Add account", key="accounts_add", on_click=_change, args=(_add, "accounts_new"))

st.subheader("Active sessions")
sessions = list_sessions(store())
if sessions:
    table = pd.DataFrame([{"id": x.id, "user": x.user, "created": x.created_at, "last seen": x.last_seen_at,
                           "expires": x.expires_at} for x in sessions])
    picked = st.dataframe(table, hide_index=True, key="accounts_sessions", on_select="rerun",
                          selection_mode="multi-row")
    ids = [int(table.iloc[i]["id"]) for i in picked.selection.rows]
    st.button(f"Revoke {len(ids)} selected", key="accounts_revoke", disabled=not ids, on_click=_change,
              args=(partial(_revoke, ids),))
else:
    st.info("No active sessions.")

st.subheader("Account log")
log = account_log(store())
if log:
    st.dataframe(pd.DataFrame([{"when": e.at, "by": e.actor, "action": e.action, "account": e.target,
                                "detail": e.detail} for e in log]), hide_index=True, key="accounts_log")
else:
    st.caption("No account changes yet.")

st.subheader("Failed sign-ins")
failures = failed_sign_ins()
if failures:
    st.dataframe(pd.DataFrame([{"name": f.name, "address": f.address, "failures": f.failures,
                                "last (s ago)": round(f.seconds_ago), "waits (s)": round(f.wait)} for f in failures]),
                 hide_index=True, key="accounts_failures")
    st.caption("Per name and address, in this server process, most first; forgotten after an idle hour.")
else:
    st.caption("No recent failed sign-ins.")
