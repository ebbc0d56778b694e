"""User-supplied text on pages is shown as typed: never rendered as Markdown or HTML; admin-written
guidelines are rendered, their images only as links."""
from __future__ import annotations

import html
import re

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from nearmiss.app.text import plain, without_images
from nearmiss.store import Store
from nearmiss.store.tables import Run
from tests.conftest import ROOT
from tests.labeling import add_candidates, signed_in

HOSTILE = ["![x](http://127.0.0.1:9/pixel.png)", "[click](javascript:alert(1))", "<img src=x onerror=alert(1)>",
           "**bold** _it_ `code` ~~gone~~", "# heading", "> quote\n- item\n1. one", "a\\*b", "| a | b |\n|---|---|",
           ":red[colour] :material/home: $x^2$", "<https://example.com>", "https://example.com/auto", "&amp; &lt;",
           "line one\n\nline two", "trailing backslash \\", "[ref]: http://x.y/z\n[ref]", "*"]
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
NO_HTML = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_exactly_its_characters(text):
    out = RENDER.render(plain(text))
    assert not re.search(r"<(img|a|em|strong|code|h\d|blockquote|ul|ol|table|del|script)\b", out), out
    shown = html.unescape(re.sub(r"</?p>", "", out)).strip()
    assert shown == " ".join(text.splitlines()).strip()


IMAGES = {
    "inline": ("See ![cat](http://127.0.0.1:9/cat.png) here.", "http://127.0.0.1:9/cat.png"),
    "reference": ("![cat][pic]\n\n[pic]: http://127.0.0.1:9/ref.png", "http://127.0.0.1:9/ref.png"),
    "in_a_link": ("[![badge](http://127.0.0.1:9/b.svg)](https://example.com)", "http://127.0.0.1:9/b.svg"),
    "in_a_quoted_list": ("> - ![q](//127.0.0.1:9/q.png)\r\n> - two", "//127.0.0.1:9/q.png"),
    "after_an_escaped_backslash": ("a \\\\![x](http://127.0.0.1:9/x.png)", "http://127.0.0.1:9/x.png"),
    "in_a_table": ("| a |\n|---|\n| ![t](http://127.0.0.1:9/t.png) |", "http://127.0.0.1:9/t.png"),
    "in_html": ("<div>\n![h](http://127.0.0.1:9/h.png)\n</div>", "http://127.0.0.1:9/h.png"),
    "after_code": ("```\n![kept](as-written)\n```\n![c](http://127.0.0.1:9/c.png) `![x](y)`", "http://127.0.0.1:9/c.png"),
}


@pytest.mark.parametrize("case", sorted(IMAGES))
def test_guideline_images_become_links_to_them(case):
    text, url = IMAGES[case]
    assert "<img" in NO_HTML.render(text)
    out = NO_HTML.render(without_images(text))  # as st.markdown parses it: HTML is not HTML
    assert "<img" not in out and f'href="{url}"' in out, out
    assert "<img" not in RENDER.render(without_images(text))


def test_guidelines_without_images_and_code_blocks_stay_as_written():
    text = "Near-miss: **tempting** but wrong. See [the paper](https://example.com)!\n\n```\n![x](y)\n```\n"
    assert without_images(text) == text
    assert "<code>![kept](as-written)\n</code>" in RENDER.render(without_images(IMAGES["after_code"][0]))


def test_mine_page_shows_a_hostile_dataset_name_and_message_as_text(sqlite_url, monkeypatch):
    store = Store(sqlite_url)
    add_candidates(store, 2, dataset="quiz")
    evil = "![x](http://127.0.0.1:9/pixel.png)"
    with store.session() as s:
        s.add(Run(kind="mine", number=1, config={"dataset": evil, "pools": ["distractors"]}, status="failed",
                  message=f"failed: {evil}"))
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "nearmiss/app/pages/mine.py"), default_timeout=120)
    signed_in(at, store, "boss", role="admin").run()
    assert not at.exception
    texts = ([m.value for m in at.markdown if "Mining run" in m.value]
             + [c.value for c in at.caption if "failed" in c.value])
    assert len(texts) == 2 and all(evil not in t and plain(evil) in t for t in texts), texts
