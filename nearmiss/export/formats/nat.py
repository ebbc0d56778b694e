"""NAT rows (SFTTrainer on both): the gold answer after the "correct" marker and each
negative after the "incorrect" marker, in SFT's row shapes. Markers come from the config
(defaults in ``nearmiss.lm.prompts``); evaluation prompts with the correct marker.

Traces go to their own table, ``trajectories``, as NAT's own data has them: the whole
conversation, the marker line in front of the task message, a ``loss`` flag per message
(as loaded, else true on the agent's turns), NAT's ``id`` (the task) and ``info``
(``reward``, ``acc``, ``gt``, ``pred``) so the file loads back as NAT trajectories,
``correct`` per row, and the first wrong step annotators marked on a failed trace."""
from __future__ import annotations

from typing import Any

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import (
    META,
    Check,
    clean_turns,
    gold_meta,
    is_bool,
    is_conversation,
    is_optional_number,
    is_text,
    negative_meta,
)
from nearmiss.export.formats.sft import answer_columns, answer_row
from nearmiss.export.select import Example
from nearmiss.lm.prompts import marked_prompt

TABLE = "nat"
TRAJECTORIES = "trajectories"


def trajectory(conversation: list[dict], marker: str, task: str) -> list[dict]:
    """The conversation with ``marker`` before its task message and a loss flag per message
    (as loaded, else true on the agent's turns). A conversation the agent opens (NAT's own
    files keep the question apart) gets the task message in front, as NAT adds it to train."""
    turns = [{**t, "loss": m.get("loss", t["role"] == "assistant")}
             for t, m in zip(clean_turns(conversation), conversation)]
    opening = next((i for i, m in enumerate(turns) if m["role"] in ("user", "assistant")), len(turns))
    if opening < len(turns) and turns[opening]["role"] == "user":
        turns[opening]["content"] = f"{marker.strip()}\n{turns[opening]['content']}"
    else:
        turns.insert(opening, {"role": "user", "content": f"{marker.strip()}\n{task}", "loss": False})
    return turns


def _nat_fields(ex: Example, correct: bool, answer: str) -> dict:
    """NAT's own row fields, so the file loads back as NAT trajectories."""
    return {"id": ex.native_id, "task": ex.question, "correct": correct,
            "info": {"reward": correct, "acc": correct, "gt": ex.gold, "pred": answer}}


def _trajectory_rows(ex: Example, conversation: list[dict], cfg: ExportConfig) -> list[dict]:
    """The rows of a trace: its own ``conversation`` (the gold answer's) and each negative's."""
    rows = [{"messages": trajectory(conversation, cfg.correct_marker, ex.question),
             **_nat_fields(ex, True, ex.gold), "first_wrong_step": None, **gold_meta(ex)}]
    return rows + [{"messages": trajectory(neg.messages, cfg.incorrect_marker, ex.question),
                    **_nat_fields(ex, False, neg.text), "first_wrong_step": neg.first_wrong_step,
                    **negative_meta(ex, neg)}
                   for neg in ex.negatives if neg.messages]


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows, trajectories = [], []
    for ex in examples:
        if style == "conversational" and ex.kind == "trace" and ex.messages:
            trajectories += _trajectory_rows(ex, ex.messages, cfg)
            continue
        right = marked_prompt(cfg.correct_marker, ex.question, ex.context)
        wrong = marked_prompt(cfg.incorrect_marker, ex.question, ex.context)
        rows.append({**answer_row(right, ex.gold, style), **gold_meta(ex)})
        rows += [{**answer_row(wrong, neg.text, style), **negative_meta(ex, neg)} for neg in ex.negatives]
    return {name: t for name, t in ((TABLE, rows), (TRAJECTORIES, trajectories)) if t}


def _has_loss_flags(v: Any) -> bool:
    return is_conversation(v) and all(is_bool(m.get("loss")) for m in v)


def _is_info(v: object) -> bool:
    return isinstance(v, dict) and is_bool(v.get("reward")) and is_text(v.get("gt")) and is_text(v.get("pred"))


def columns(table: str, style: str) -> dict[str, Check]:
    if table == TRAJECTORIES:
        return {"messages": _has_loss_flags, "id": is_text, "task": is_text, "correct": is_bool, "info": _is_info,
                "first_wrong_step": is_optional_number, **META}
    return answer_columns(style)
