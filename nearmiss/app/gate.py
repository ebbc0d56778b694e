"""The upload gate: ASGI middleware in front of Streamlit's upload endpoint
(``PUT /_stcore/upload_file/<session>/<file>``). Streamlit takes any file, of any id, into
memory for any live session, signed in or not; this answers 403 before a byte of the body is
read unless that Streamlit session holds a signed-in admin (``nearmiss.app.uploads``)."""
from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from nearmiss.app.uploads import may_upload

UPLOAD_PATH = re.compile(r"/_stcore/upload_file/(?P<session>[^/]+)/[^/]+/?$")


class UploadGate:
    """Refuse uploads to Streamlit sessions without a signed-in admin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT" and (hit := UPLOAD_PATH.search(scope["path"])):
            if not await run_in_threadpool(may_upload, hit["session"]):  # a store read: off the event loop
                refused = PlainTextResponse("Refused: uploads are for signed-in admins.", status_code=403)
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
