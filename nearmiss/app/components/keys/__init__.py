"""Key card: a small Streamlit component (plain JS, no build step) that shows one
candidate and sends each key press together with the id of the candidate on screen.

Protocol: the browser sends ``{rid, cid, action, step, comment, flag}`` (a fresh request
id per press) as a trigger; the press handler runs in the widget callback, before the page script, so the
write is committed before the next card is rendered; the card comes back with an ack
``{rid, status, label, reason}`` that the browser waits for before it takes another key
(keys pressed meanwhile are shown as not taken; an unanswered press is re-sent with the
same request id, which the store writes once). While a card is on screen the browser
also sends a ``heartbeat`` trigger that renews the lease on its candidate.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy.exc import OperationalError

from nearmiss.errors import NearmissError
from nearmiss.label.desk import ACCEPT, Press
from nearmiss.label.labels import Receipt

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
_card = st.components.v2.component("nearmiss_keys", js=(HERE / "keys.js").read_text(),
                                   css=(HERE / "keys.css").read_text())

LABEL_KEYS = {"1": "near_miss", "2": "far_miss", "3": "actually_correct", "4": "invalid", " ": "skip",
              "Backspace": "undo"}
DESK_KEYS = {**LABEL_KEYS, "Enter": ACCEPT}  # the Label page: Enter accepts the suggested label
HELP = ("1  near-miss: wrong, but close enough to tempt a model\n"
        "2  far-miss: clearly wrong\n"
        "3  actually correct: not wrong at all (a false negative)\n"
        "4  invalid: garbled, off-topic or not an answer\n"
        "enter  accept the suggested label (where the card shows one)\n"
        "space  skip this one\n"
        "backspace  undo (walks back through your last 10 decisions)\n"
        "c  comment on this card (sent with your label; Esc returns to the keys)\n"
        "f  flag: needs discussion (sent with your label)\n"
        "g  show / hide the guidelines\n"
        "click a key in the legend: same as pressing it\n"
        "j / k  traces: mark the next / previous assistant step as the first wrong one (or click it); x clears it\n"
        "?  this help")
REVIEW_HELP = "\n".join(line for line in HELP.replace("skip this one", "leave it for later").replace(
    "your last 10 decisions", "your last 10 adjudications").splitlines()
    if line.split("  ")[0] not in ("enter", "c", "f", "g", "j / k"))


def _ack(rid: str, receipt: Receipt) -> dict[str, Any]:
    return {"rid": rid, "status": receipt.status, "label": receipt.label, "reason": receipt.reason}


def key_card(view: dict[str, Any] | None, *, key: str, on_press: Callable[[Press], Receipt], mode: str = "label",
             keys: dict[str, str] = LABEL_KEYS, stats: dict[str, Any] | None = None, empty: str = "Nothing to show.",
             help: str = HELP, refresh: bool = False, on_heartbeat: Callable[[], bool] | None = None,
             heartbeat_seconds: float = 0) -> None:
    """Render the card for ``view`` (None: nothing left) with a line of ``stats`` above it;
    ``on_press`` handles each key. With ``refresh`` the card asks for a rerun every few
    seconds (an empty queue waiting for candidates that others hold). With ``on_heartbeat``
    the card calls it every ``heartbeat_seconds`` while it shows a candidate (False: the
    lease on it is lost, which the card says)."""
    ack_key, lease_key = f"{key}_ack", f"{key}_lease_lost"

    def handle() -> None:
        event = (st.session_state.get(key) or {}).get("press")
        if not isinstance(event, dict) or not event.get("rid"):
            return
        rid = str(event["rid"])
        try:
            receipt = on_press(Press(event.get("cid"), str(event.get("action")), rid, event.get("step"),
                                     event.get("comment"), event.get("flag") is True))
            st.session_state[lease_key] = False
        except NearmissError as e:
            receipt = Receipt("refused", event.get("cid"), reason=str(e))
        except OperationalError:  # the store is busy or unreachable: shown as not taken (a bug still raises)
            log.warning("key press %s not saved: store unavailable", rid, exc_info=True)
            receipt = Receipt("refused", event.get("cid"), reason="not saved (store unavailable); press again")
        st.session_state[ack_key] = _ack(rid, receipt)

    def beat() -> None:
        if on_heartbeat is None:  # no heartbeat: the card sends none (heartbeat_ms 0)
            return
        try:
            st.session_state[lease_key] = not on_heartbeat()
        except (NearmissError, OperationalError):  # signed out or store unavailable: the next beat retries
            log.warning("lease heartbeat missed", exc_info=True)

    _card(key=key, data={"mode": mode, "card": view, "ack": st.session_state.get(ack_key), "keys": keys,
                         "stats": stats or {}, "empty": empty, "help": help, "refresh": refresh,
                         "heartbeat_ms": int(heartbeat_seconds * 1000) if on_heartbeat else 0,
                         "lease_lost": bool(view) and st.session_state.get(lease_key, False)},
          on_press_change=handle, on_refresh_change=lambda: None, on_heartbeat_change=beat)
