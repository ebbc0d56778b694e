"""The upload cap, in one place: the app's server refuses bigger uploads (Streamlit's
``server.maxUploadSize``, set by ``nearmiss app``), and the Datasets page stages no more."""
from __future__ import annotations

import os

MAX_UPLOAD_MB = int(os.environ.get("NEARMISS_MAX_UPLOAD_MB", "200"))
