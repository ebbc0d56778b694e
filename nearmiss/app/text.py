"""User-supplied text inside Streamlit's Markdown (titles, captions, messages, progress text):
escaped so it shows as typed. A dataset named ``![x](http://host/p.png)`` is shown as those
characters, not fetched as an image; HTML and links stay text too. Admin-written Markdown
(guidelines) is rendered, but its images only as links: a page never fetches an image."""
from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")
IMAGE_START = re.compile(r"(?<!\\)((?:\\\\)*)!\[")  # a "![" whose "!" no backslash escapes
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def plain(value: object) -> str:
    """``value`` as text, every Markdown-active character backslash-escaped (CommonMark
    lets any ASCII punctuation be escaped); line breaks become spaces."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).splitlines()))


def _has_image(tokens: list[Token]) -> bool:
    return any(child.type == "image" for t in tokens if t.type == "inline" for child in t.children or [])


def without_images(markdown: str) -> str:
    """``markdown`` with every image shown as a link to it: ``![alt](url)`` becomes
    ``\\![alt](url)``, a "!" and the link, so a remote image is not fetched on every view
    (which would tell its host who reads the page, and when). Code blocks stay as written.
    Should a parser corner keep an image anyway, every line is shown as plain text."""
    tokens = MARKDOWN.parse(markdown)
    if not _has_image(tokens):
        return markdown
    code = {n for t in tokens if t.type in ("fence", "code_block") and t.map for n in range(*t.map)}
    lines = re.split(r"\r\n?|\n", markdown)  # the lines the parser's maps count
    out = "\n".join(line if n in code else IMAGE_START.sub(r"\1\\![", line) for n, line in enumerate(lines))
    return out if not _has_image(MARKDOWN.parse(out)) else "\n\n".join(plain(line) for line in lines)
