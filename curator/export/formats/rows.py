"""Pieces every format's rows are made of: prompt and completion in either style, the
provenance columns, and the column checks used when a written file is read back."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from curator.export.select import Example, Negative
from curator.prompts import continuation

Check = Callable[[Any], bool]
GOLD = "gold"  # final_label and origin of the rows that carry the gold answer


def prompt(text: str, style: str) -> str | list[dict[str, str]]:
    """The prompt as text (standard) or as one user turn (conversational)."""
    return text if style == "standard" else [{"role": "user", "content": text}]


def completion(answer: str, style: str) -> str | list[dict[str, str]]:
    """An answer as a continuation of the prompt (standard) or as one assistant turn."""
    return continuation(answer) if style == "standard" else [{"role": "assistant", "content": answer.strip()}]


def messages(prompt_text: str, answer: str) -> list[dict[str, str]]:
    """A user turn and the assistant's answer."""
    return prompt(prompt_text, "conversational") + completion(answer, "conversational")


def gold_meta(ex: Example) -> dict[str, Any]:
    return {"item_id": ex.item_id, "candidate_id": None, "final_label": GOLD, "origin": GOLD}


def negative_meta(ex: Example, neg: Negative) -> dict[str, Any]:
    return {"item_id": ex.item_id, "candidate_id": neg.candidate_id, "final_label": neg.label, "origin": neg.origin}


def is_text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def is_optional_text(v: Any) -> bool:
    return v is None or is_text(v)


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_optional_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def turns(*roles: str) -> Check:
    """A list of {role, content} turns with exactly these roles, in order, none empty."""
    def check(v: Any) -> bool:
        return (isinstance(v, list) and [t.get("role") for t in v if isinstance(t, dict)] == list(roles)
                and all(is_text(t.get("content")) for t in v))
    return check


def prompt_check(style: str) -> Check:
    return is_text if style == "standard" else turns("user")


def completion_check(style: str) -> Check:
    return is_text if style == "standard" else turns("assistant")


META: dict[str, Check] = {"item_id": is_text, "candidate_id": is_optional_text, "final_label": is_text,
                          "origin": is_text}
