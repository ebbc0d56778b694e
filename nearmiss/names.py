r"""Names and ids that people read (accounts, datasets, item ids) must look like what they are.

Each is NFC-normalised and refused when it holds a character nobody sees: control, format
(bidi marks, zero-width characters), surrogate, private-use or unassigned code points, line or
paragraph separators (``adm\u200bin``, ``\u202enimda`` shown as "admin", an id ``1\u200b`` beside
``1``). Names are also refused when they mix scripts with characters that look like another
script's (a Cyrillic ``а`` in ``аdmin``), as ``confusable_homoglyphs.is_dangerous`` judges it from
Unicode's confusables table; a name written wholly in one script is allowed."""
from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables

from nearmiss.errors import ConfigError

# control; format (bidi marks, zero-width characters, ...); surrogate, private use, unassigned; line and
# paragraph separators
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
ALL_DATASETS = "*"  # the scope of what spans every dataset (a ranker fitted across datasets); no dataset's name


def nfc(text: str) -> str:
    """``text`` in the form names and ids are stored and looked up in (NFC)."""
    return unicodedata.normalize("NFC", text)


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` nobody sees, described as ``U+200B ZERO WIDTH SPACE``; None if none."""
    hidden = next((c for c in text if unicodedata.category(c) in HIDDEN_CATEGORIES), None)
    return None if hidden is None else f"U+{ord(hidden):04X} {unicodedata.name(hidden, '')}".strip()


def name_problem(name: str) -> str | None:
    """Why ``name`` (already NFC) cannot be a name people tell apart by sight; None if it can."""
    if not name.strip():
        return "is empty"
    if name != name.strip():
        return f"{name.strip()!r} must not start or end with a space"
    if (hidden := hidden_character(name)) is not None:
        return f"must not contain invisible or control characters (found {hidden})"
    if confusables.is_dangerous(name):
        return f"{name!r} mixes scripts with look-alike letters (e.g. a Cyrillic а among Latin letters); " \
               "write it in one script"
    return None


def id_problem(native_id: str) -> str | None:
    """Why an item's id from a file cannot be kept as given (hidden characters); None if it can."""
    hidden = hidden_character(native_id)
    return None if hidden is None else f"id must not contain invisible or control characters (found {hidden})"


def check_dataset_name(name: str) -> str:
    """A dataset's name as stored (NFC), or ConfigError naming the rule it breaks."""
    name = nfc(name)
    if name == ALL_DATASETS:
        raise ConfigError(f"dataset name '{ALL_DATASETS}' is reserved (it means every dataset); choose another")
    if (problem := name_problem(name)) is not None:
        raise ConfigError(f"dataset name {problem}")
    return name
