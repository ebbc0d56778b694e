"""Account names and sign-in input limits: a name is what people read in lists and on the
sidebar, so it must look like what it is (``nearmiss.names``: NFC, nothing invisible, no
look-alike script mixes), have no spaces at either end, at most MAX_NAME characters, and be
unique ignoring case."""
from __future__ import annotations

from nearmiss.errors import ConfigError
from nearmiss.names import name_problem, nfc

MAX_NAME = 100  # the annotators.name column's width
MAX_PASSWORD = 1024  # longer input is refused before any hashing


def check_name(name: str) -> str:
    """The account name as stored (NFC), or ConfigError naming the rule it breaks."""
    name = nfc(name)
    if len(name) > MAX_NAME:
        raise ConfigError(f"account name must have at most {MAX_NAME} characters (got {len(name)})")
    if (problem := name_problem(name)) is not None:
        raise ConfigError(f"account name {problem}")
    return name


def same_name(a: str, b: str) -> bool:
    """Whether two names collide (equal ignoring case, after NFC)."""
    return nfc(a).casefold() == nfc(b).casefold()
