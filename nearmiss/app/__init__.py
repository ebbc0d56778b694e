"""The Streamlit app: ``main.py`` routes, ``pages/`` holds the pages, ``components/`` the custom
widgets; ``nearmiss app`` serves it."""
from pathlib import Path

MAIN = Path(__file__).with_name("main.py")  # the script every session runs
SERVER = Path(__file__).with_name("server.py")  # what `streamlit run` starts: MAIN inside nearmiss's st.App
