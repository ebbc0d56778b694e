r"""Account names and sign-in input limits: a name is what people read in lists and on the
sidebar, so it must look like what it is. NFC-normalised; no control, format, bidi or
zero-width characters (Unicode categories Cc and Cf: ``adm\u200bin`` and ``\u202enimda``
are refused), nor line or paragraph separators, private-use, surrogate or unassigned code
points; no spaces at either end; at most MAX_NAME characters; unique ignoring case.
Look-alikes from other scripts (a Cyrillic ``а`` in ``аdmin``) are not caught here."""
from __future__ import annotations

import unicodedata

from nearmiss.errors import ConfigError

MAX_NAME = 100  # the annotators.name column's width
MAX_PASSWORD = 1024  # longer input is refused before any hashing
# control; format (bidi marks, zero-width characters, ...); surrogate, private use, unassigned; line and
# paragraph separators
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def normalize_name(name: str) -> str:
    """``name`` in the form it is stored and looked up in (NFC)."""
    return unicodedata.normalize("NFC", name)


def check_name(name: str) -> str:
    """The account name as stored (NFC), or ConfigError naming the rule it breaks."""
    name = normalize_name(name)
    if not name.strip():
        raise ConfigError("account name is empty")
    if len(name) > MAX_NAME:
        raise ConfigError(f"account name must have at most {MAX_NAME} characters (got {len(name)})")
    if name != name.strip():
        raise ConfigError(f"account name {name.strip()!r} must not start or end with a space")
    hidden = next((c for c in name if unicodedata.category(c) in HIDDEN_CATEGORIES), None)
    if hidden is not None:
        what = f"U+{ord(hidden):04X} {unicodedata.name(hidden, '')}".strip()
        raise ConfigError(f"account name must not contain invisible or control characters (found {what})")
    return name


def same_name(a: str, b: str) -> bool:
    """Whether two names collide (equal ignoring case, after NFC)."""
    return normalize_name(a).casefold() == normalize_name(b).casefold()
