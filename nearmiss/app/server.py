"""The app's server, as `nearmiss app` starts it (`streamlit run nearmiss/app/server.py`):
main.py served by Streamlit's ``st.App`` (its supported way to add ASGI middleware), with
nearmiss's upload gate in front (``nearmiss.app.gate``). It refuses to start unless its
environment says which proxy, if any, may name the client's address (``nearmiss.app.serving``)."""
import sys

import streamlit as st
from starlette.middleware import Middleware

from nearmiss.app import MAIN
from nearmiss.app.gate import UploadGate
from nearmiss.app.serving import forwarding_error

if (error := forwarding_error()) is not None:
    sys.exit(f"Error: {error}")

app = st.App(MAIN, middleware=[Middleware(UploadGate)])
