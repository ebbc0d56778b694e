"""Pieces every format's rows are made of: prompt and completion in either style, the
provenance columns, and the column checks used when a written file is read back."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nearmiss.export.select import Example, Negative
from nearmiss.lm.prompts import continuation

Check = Callable[[Any], bool]
ROLES = ("system", "user", "assistant", "tool", "function")
GOLD = "gold"  # final_label and origin of the rows that carry the gold answer


def _user_turn(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant_turn(answer: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": answer.strip()}]


def prompt(text: str, style: str) -> str | list[dict[str, str]]:
    """The prompt as text (standard) or as one user turn (conversational)."""
    return text if style == "standard" else _user_turn(text)


def completion(answer: str, style: str) -> str | list[dict[str, str]]:
    """An answer as a continuation of the prompt (standard) or as one assistant turn."""
    return continuation(answer) if style == "standard" else _assistant_turn(answer)


def messages(prompt_text: str, answer: str) -> list[dict[str, str]]:
    """A user turn and the assistant's answer."""
    return _user_turn(prompt_text) + _assistant_turn(answer)


MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def clean_turns(conversation: list[dict]) -> list[dict[str, Any]]:
    """A stored conversation's messages with the chat keys only (loader extras such as ``loss`` dropped)."""
    return [{k: m[k] for k in MESSAGE_KEYS if m.get(k) is not None} for m in conversation]


def split_turns(conversation: list[dict]) -> tuple[list[dict], list[dict]]:
    """A trace as (prompt turns: everything up to its first user message, the rest)."""
    turns_ = clean_turns(conversation)
    first_user = next((i for i, m in enumerate(turns_) if m["role"] == "user"), 0)
    return turns_[:first_user + 1], turns_[first_user + 1:]


def conversation_of(ex: Example, neg: Negative | None) -> list[dict] | None:
    """The full conversation behind the gold answer (``neg`` None) or a negative, if it is a trace."""
    return (ex.messages if neg is None else neg.messages) if ex.kind == "trace" else None


def answer_turns(ex: Example, neg: Negative | None, style: str) -> tuple[Any, Any]:
    """(prompt, completion) for the gold answer or a negative: a trace's own conversation
    when conversational, else the task prompt and the (final) answer."""
    conversation = conversation_of(ex, neg) if style == "conversational" else None
    if conversation:
        return split_turns(conversation)
    return prompt(ex.prompt, style), completion(ex.gold if neg is None else neg.text, style)


def gold_meta(ex: Example) -> dict[str, Any]:
    return {"item_id": ex.item_id, "candidate_id": None, "final_label": GOLD, "origin": GOLD}


def negative_meta(ex: Example, neg: Negative) -> dict[str, Any]:
    return {"item_id": ex.item_id, "candidate_id": neg.candidate_id, "final_label": neg.label, "origin": neg.origin}


def is_text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def is_optional_text(v: Any) -> bool:
    return v is None or is_text(v)


def is_text_list(v: Any) -> bool:
    return isinstance(v, list) and all(is_text(x) for x in v)


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_optional_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def is_conversation(v: Any) -> bool:
    """A non-empty list of chat messages, each with a known role and text (or tool calls)."""
    return isinstance(v, list) and bool(v) and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content", ""), str)
        and (bool(str(m.get("content", "")).strip()) or bool(m.get("tool_calls"))) for m in v)


def is_prompt_turns(v: Any) -> bool:
    """Conversation turns that end with the user's message (a trace's system turns may lead)."""
    return is_conversation(v) and v[-1]["role"] == "user"


def is_completion_turns(v: Any) -> bool:
    """Conversation turns that the assistant opens (tool results and further turns may follow)."""
    return is_conversation(v) and v[0]["role"] == "assistant"


def turns(*roles: str) -> Check:
    """A list of {role, content} turns with exactly these roles, in order, none empty."""
    def check(v: Any) -> bool:
        return (isinstance(v, list) and [t.get("role") for t in v if isinstance(t, dict)] == list(roles)
                and all(is_text(t.get("content")) for t in v))
    return check


def prompt_check(style: str) -> Check:
    return is_text if style == "standard" else is_prompt_turns


def completion_check(style: str) -> Check:
    return is_text if style == "standard" else is_completion_turns


META: dict[str, Check] = {"item_id": is_text, "candidate_id": is_optional_text, "final_label": is_text,
                          "origin": is_text}
