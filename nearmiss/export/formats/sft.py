"""SFT rows (SFTTrainer) with the correct answer only: ``messages`` (conversational) or
``prompt``/``completion`` (standard), one per item that has selected negatives, so SFT
trains on the same questions as the preference formats. A trace's row is its successful
conversation (conversational)."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import (
    META,
    Check,
    answer_turns,
    completion,
    gold_meta,
    is_conversation,
    is_text,
    messages,
    turns,
)
from nearmiss.export.select import Example

TABLE = "sft"


def answer_row(prompt_text: str, answer: str, style: str) -> dict:
    """One SFT row: the prompt and its answer in the given style."""
    if style == "conversational":
        return {"messages": messages(prompt_text, answer)}
    return {"prompt": prompt_text, "completion": completion(answer, style)}


def answer_columns(style: str, *, traces: bool = False) -> dict[str, Check]:
    if style == "conversational":
        return {"messages": is_conversation if traces else turns("user", "assistant"), **META}
    return {"prompt": is_text, "completion": is_text, **META}


def _gold_row(ex: Example, style: str) -> dict:
    if style == "conversational":
        prompt, answer = answer_turns(ex, None, style)
        return {"messages": prompt + answer}
    return answer_row(ex.prompt, ex.gold, style)


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    return {TABLE: [{**_gold_row(ex, style), **gold_meta(ex)} for ex in examples]}


def columns(table: str, style: str) -> dict[str, Check]:
    return answer_columns(style, traces=True)
