"""NAT rows (SFTTrainer on both): the gold answer after the "correct" marker and each
negative after the "incorrect" marker, in SFT's row shapes. Markers come from the config
(defaults in ``curator.prompts``); evaluation prompts with the correct marker.

Traces go to their own table, ``trajectories``, as NAT's own data has them: the whole
conversation, the marker line in front of the task message, a ``loss`` flag per message
(true on the agent's turns), ``correct`` per row, and the first wrong step annotators
marked on a failed trace."""
from __future__ import annotations

from curator.export.config import ExportConfig
from curator.export.formats.rows import (META, Check, clean_turns, conversation_of, gold_meta, is_bool, is_conversation,
                                         is_optional_number, negative_meta)
from curator.export.formats.sft import answer_columns, answer_row
from curator.export.select import Example
from curator.prompts import marked_prompt

TABLE = "nat"
TRAJECTORIES = "trajectories"


def trajectory(conversation: list[dict], marker: str) -> list[dict]:
    """The conversation with ``marker`` before its first user message and a loss flag per message."""
    turns = clean_turns(conversation)
    first_user = next((i for i, m in enumerate(turns) if m["role"] == "user"), None)
    if first_user is not None:
        turns[first_user]["content"] = f"{marker.strip()}\n{turns[first_user]['content']}"
    return [{**m, "loss": m["role"] == "assistant"} for m in turns]


def _trajectory_rows(ex: Example, cfg: ExportConfig) -> list[dict]:
    rows = [{"messages": trajectory(conversation_of(ex, None), cfg.correct_marker), "correct": True,
             "first_wrong_step": None, **gold_meta(ex)}]
    return rows + [{"messages": trajectory(conversation_of(ex, neg), cfg.incorrect_marker), "correct": False,
                    "first_wrong_step": neg.first_wrong_step, **negative_meta(ex, neg)}
                   for neg in ex.negatives if neg.messages]


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows, trajectories = [], []
    for ex in examples:
        if style == "conversational" and ex.kind == "trace" and ex.messages:
            trajectories += _trajectory_rows(ex, cfg)
            continue
        right = marked_prompt(cfg.correct_marker, ex.question, ex.context)
        wrong = marked_prompt(cfg.incorrect_marker, ex.question, ex.context)
        rows.append({**answer_row(right, ex.gold, style), **gold_meta(ex)})
        rows += [{**answer_row(wrong, neg.text, style), **negative_meta(ex, neg)} for neg in ex.negatives]
    return {name: t for name, t in ((TABLE, rows), (TRAJECTORIES, trajectories)) if t}


def _has_loss_flags(v: object) -> bool:
    return is_conversation(v) and all(is_bool(m.get("loss")) for m in v)


def columns(table: str, style: str) -> dict[str, Check]:
    if table == TRAJECTORIES:
        return {"messages": _has_loss_flags, "correct": is_bool, "first_wrong_step": is_optional_number, **META}
    return answer_columns(style)
