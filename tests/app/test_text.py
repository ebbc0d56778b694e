"""User-supplied text on pages is shown as typed: never rendered as Markdown or HTML."""
from __future__ import annotations

import html
import re

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from nearmiss.app.text import plain
from nearmiss.store import Store
from nearmiss.store.tables import Run
from tests.conftest import ROOT
from tests.labeling import add_candidates, signed_in

HOSTILE = ["![x](http://127.0.0.1:9/pixel.png)", "[click](javascript:alert(1))", "<img src=x onerror=alert(1)>",
           "**bold** _it_ `code` ~~gone~~", "# heading", "> quote\n- item\n1. one", "a\\*b", "| a | b |\n|---|---|",
           ":red[colour] :material/home: $x^2$", "<https://example.com>", "https://example.com/auto", "&amp; &lt;",
           "line one\n\nline two", "trailing backslash \\", "[ref]: http://x.y/z\n[ref]", "*"]
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_exactly_its_characters(text):
    out = RENDER.render(plain(text))
    assert not re.search(r"<(img|a|em|strong|code|h\d|blockquote|ul|ol|table|del|script)\b", out), out
    shown = html.unescape(re.sub(r"</?p>", "", out)).strip()
    assert shown == " ".join(text.splitlines()).strip()


def test_mine_page_shows_a_hostile_dataset_name_and_message_as_text(sqlite_url, monkeypatch):
    store = Store(sqlite_url)
    add_candidates(store, 2, dataset="quiz")
    evil = "![x](http://127.0.0.1:9/pixel.png)"
    with store.session() as s:
        s.add(Run(kind="mine", config={"dataset": evil, "pools": ["distractors"]}, status="failed",
                  message=f"failed: {evil}"))
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "nearmiss/app/pages/mine.py"), default_timeout=120)
    signed_in(at, store, "boss", role="admin").run()
    assert not at.exception
    texts = [el.proto.text for el in at.get("progress")]
    assert texts and all(evil not in t and plain(evil) in t for t in texts), texts
