"""The app's error boundary: an exception that no page handled is logged with its traceback
under a short id, and the page shows one line with that id, never the traceback (its frames
name server paths). A NearmissError that reaches it is a user's error: its message is the line.

``main.py`` runs every page inside ``error_boundary``; a fragment's own reruns do not pass
through the page, so pages make fragments with ``fragment`` instead of ``st.fragment``.
"""
from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st
from streamlit.errors import FragmentHandledException

from nearmiss.app.text import plain
from nearmiss.errors import NearmissError

log = logging.getLogger("nearmiss.app")
P = ParamSpec("P")


def failure_line(error_id: str) -> str:
    return (f"Something went wrong (error {error_id}). Reload the page to try again; if it happens again, "
            f"tell whoever runs nearmiss: the server log has error {error_id} with the details.")


@contextmanager
def error_boundary() -> Iterator[None]:
    """Run the body; an exception from it becomes one line on the page (see the module docstring).
    Streamlit's control flow (st.stop, st.rerun: BaseExceptions) passes through."""
    try:
        yield
    except NearmissError as e:
        st.error(plain(e))
    except FragmentHandledException:  # a plain st.fragment failed and Streamlit has shown it already
        raise
    except Exception:  # the page-level boundary: the traceback goes to the server log only
        error_id = secrets.token_hex(4)
        log.exception("page failed: error %s", error_id)
        st.error(failure_line(error_id))


def fragment(*, run_every: float | None = None) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """``st.fragment(run_every=...)`` whose body runs inside ``error_boundary``."""

    def wrap(func: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(func)  # keeps the name Streamlit identifies the fragment by
        def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
            with error_boundary():
                func(*args, **kwargs)

        return st.fragment(guarded, run_every=run_every)

    return wrap
