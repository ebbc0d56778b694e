"""A raw client of Streamlit's websocket (``/_stcore/stream``), for the security tests: it
connects with the Origin, cookie and headers a test chooses, asks for a page run (a
``rerun_script`` BackMsg, with widget values or button presses if given) and collects the
ForwardMsgs of that run, as the browser's frontend would."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.sync.client import ClientConnection, connect


def rerun_message(page: str = "", widgets: list[WidgetState] | None = None) -> bytes:
    """A serialized BackMsg asking for a run of ``page`` (its URL path; "" for home)."""
    state = ClientState(query_string="", page_name=page, widget_states=WidgetStates(widgets=widgets or []))
    return BackMsg(rerun_script=state).SerializeToString()


def press(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def text(widget_id: str, value: str) -> WidgetState:
    return WidgetState(id=widget_id, string_value=value)


def stored_token(component_id: str, token: str) -> list[WidgetState]:
    """The session-token component's answer to the server's question: the token the browser
    stores ("" for none), as its ``setStateValue("stored", ...)`` sends it."""
    return [WidgetState(id=component_id, json_value=json.dumps({"stored": {"token": token, "at": time.time()}}))]


@dataclass
class Run:
    """What one script run sent: its ForwardMsgs, read as text (protobuf text format)."""

    messages: list[ForwardMsg] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(str(m) for m in self.messages)

    def widget_id(self, kind: str, label: str) -> str:
        """The id of the ``kind`` widget (``button``, ``text_input``, ...) labelled ``label``."""
        for m in self.messages:
            if m.WhichOneof("type") == "delta" and m.delta.WhichOneof("type") == "new_element":
                element = m.delta.new_element
                if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
                    return getattr(element, kind).id
        raise AssertionError(f"no {kind} labelled {label!r} in this run")

    def component_id(self) -> str:
        """The id of the (first) custom component of this run."""
        for m in self.messages:
            if m.WhichOneof("type") == "delta" and m.delta.WhichOneof("type") == "new_element":
                if m.delta.new_element.WhichOneof("type") == "bidi_component":
                    return m.delta.new_element.bidi_component.id
        raise AssertionError("no custom component in this run")


class StreamClient:
    """One websocket connection to the app (one Streamlit session)."""

    def __init__(self, app_url: str, *, origin: str | None, cookie: str | None = None,
                 headers: dict[str, str] | None = None):
        extra = {**(headers or {}), **({"Cookie": cookie} if cookie else {})}
        self.ws: ClientConnection = connect(app_url.replace("http", "ws", 1) + "/_stcore/stream", origin=origin,
                                            additional_headers=extra, max_size=None, open_timeout=30)
        self.session_id: str | None = None

    def run(self, page: str = "", widgets: list[WidgetState] | None = None, timeout: float = 90) -> Run:
        """Ask for a run of ``page`` and collect its messages until it finishes."""
        return self.send(rerun_message(page, widgets), timeout)

    def send(self, message: bytes, timeout: float = 90) -> Run:
        """Send a serialized BackMsg and collect the messages of the run it starts."""
        self.ws.send(message)
        run, deadline = Run(), time.monotonic() + timeout
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            run.messages.append(msg)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id
            if kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return run

    def close(self) -> None:
        self.ws.close()
