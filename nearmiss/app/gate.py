"""The upload gate: ASGI middleware in front of Streamlit's upload endpoint
(``PUT /_stcore/upload_file/<session>/<file>``). Streamlit takes any file, of any id, into
memory for any live session, signed in or not; this answers 403 before a byte of the body is
read unless that Streamlit session holds a signed-in admin (``nearmiss.app.uploads``), and
refuses an upload that does not announce its length or would take the session's uploads past
their memory bound; a DELETE of an uploaded file releases what it held."""
from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from nearmiss.app.uploads import MAX_HELD_MB, hold, may_upload, release
from nearmiss.load.limits import MAX_UPLOAD_MB

MULTIPART_SLACK = 64 << 10  # an upload's body is the file plus its multipart headers
UPLOAD_PATH = re.compile(r"/_stcore/upload_file/(?P<session>[^/]+)/(?P<file>[^/]+)/?$")


def _refuse(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(f"Refused: {text}", status_code=status)


def _content_length(scope: Scope) -> int | None:
    value = dict(scope["headers"]).get(b"content-length", b"")
    return int(value) if value.isdigit() else None


class UploadGate:
    """Refuse uploads to Streamlit sessions without a signed-in admin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = UPLOAD_PATH.search(scope["path"]) if scope["type"] == "http" else None
        if hit and scope["method"] == "PUT":
            if (refused := await self._refusal(hit["session"], hit["file"], _content_length(scope))) is not None:
                await refused(scope, receive, send)
                return
        elif hit and scope["method"] == "DELETE":
            release(hit["session"], hit["file"])
        await self.app(scope, receive, send)

    @staticmethod
    async def _refusal(session_id: str, file_id: str, size: int | None) -> PlainTextResponse | None:
        if not await run_in_threadpool(may_upload, session_id):  # a store read: off the event loop
            return _refuse(403, "uploads are for signed-in admins.")
        if size is None:
            return _refuse(411, "an upload must state its length (Content-Length).")
        if size > MAX_UPLOAD_MB * 2**20 + MULTIPART_SLACK:
            return _refuse(413, f"the file is larger than the upload limit of {MAX_UPLOAD_MB} MB.")
        if not hold(session_id, file_id, size):
            return _refuse(413, f"this session's uploads would hold more than {MAX_HELD_MB} MB; remove one first.")
        return None
