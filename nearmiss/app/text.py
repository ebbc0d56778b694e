"""User-supplied text inside Streamlit's Markdown (titles, captions, messages, progress text):
escaped so it shows as typed. A dataset named ``![x](http://host/p.png)`` is shown as those
characters, not fetched as an image; HTML and links stay text too."""
from __future__ import annotations

import re

MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")


def plain(value: object) -> str:
    """``value`` as text, every Markdown-active character backslash-escaped (CommonMark
    lets any ASCII punctuation be escaped); line breaks become spaces."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).splitlines()))
