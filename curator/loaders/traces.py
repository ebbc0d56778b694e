"""Agent traces: OpenAI-messages JSONL, ShareGPT JSON and NAT-style trajectories.

Each trace belongs to a task (an item). A successful trace gives the item its gold
conversation; a failed one becomes a candidate of origin ``failed_trace``.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.errors import LoadError
from curator.loaders.rows import Row
from curator.store.schema import CandidateRecord, ItemRecord, stable_id

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
                  "bard": "assistant", "bing": "assistant", "system": "system", "function_call": "assistant",
                  "observation": "tool", "tool": "tool", "function": "tool"}
MESSAGE_FIELDS = ("messages", "conversations", "conversation", "trajectory", "steps")
TASK_FIELDS = ("task", "instruction", "goal", "question")
TASK_ID_FIELDS = ("task_id", "problem_id", "question_id")


def _messages(path: Path | str, number: int, row: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    name = next((f for f in MESSAGE_FIELDS if f in row), None)
    raw = row.get(name) if name else None
    if not isinstance(raw, list) or not raw:
        raise LoadError(path, number, name or "messages", "missing or empty conversation (a list of messages)")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise LoadError(path, number, f"{name}[{i}]", "a message must be an object")
        if "from" in m:  # ShareGPT
            role = SHAREGPT_ROLES.get(str(m["from"]).lower())
            if role is None:
                raise LoadError(path, number, f"{name}[{i}].from", f"unknown speaker {m['from']!r}")
            msg = {"role": role, "content": str(m.get("value", ""))}
            if "loss" in m:
                msg["loss"] = bool(m["loss"])
        elif "role" in m:
            msg = {k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "name", "tool_call_id", "loss")}
            msg["content"] = "" if msg.get("content") is None else msg["content"]
        else:
            raise LoadError(path, number, f"{name}[{i}]", "a message needs 'role' (OpenAI) or 'from' (ShareGPT)")
        out.append(msg)
    return name, out


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def _outcome(path: Path | str, number: int, row: dict[str, Any]) -> tuple[str, float | None]:
    reward = row.get("reward")
    if "success" in row:
        if not isinstance(row["success"], bool):
            raise LoadError(path, number, "success", f"expected true or false, got {row['success']!r}")
        return ("success" if row["success"] else "failure"), reward
    if "outcome" in row:
        value = str(row["outcome"]).lower()
        if value not in ("success", "failure", "unknown"):
            raise LoadError(path, number, "outcome", f"expected success, failure or unknown, got {row['outcome']!r}")
        return value, reward
    if isinstance(reward, (int, float)):
        return ("success" if reward > 0 else "failure"), float(reward)
    return "unknown", None


def trace_item(path: Path | str, number: int, row: dict[str, Any], dataset: str, split: str) -> ItemRecord:
    """One trace row as its task's item, carrying the trace as gold or as a failed candidate."""
    field, messages = _messages(path, number, row)
    task = next((str(row[f]) for f in TASK_FIELDS if row.get(f)), None)
    if task is None:
        task = next((_text(m["content"]) for m in messages if m["role"] == "user"), "")
    if not task.strip():
        raise LoadError(path, number, field, "no task: give a 'task' field or a user message")
    answers = [_text(m["content"]) for m in messages if m["role"] == "assistant" and _text(m["content"]).strip()]
    if not answers:
        raise LoadError(path, number, field, "no assistant message with content")
    outcome, reward = _outcome(path, number, row)
    task_id = next((str(row[f]) for f in TASK_ID_FIELDS if row.get(f) not in (None, "")), None) or stable_id(task)
    trace_id = str(row.get("id") or f"row{number}")
    item = ItemRecord(dataset=dataset, split=split, native_id=task_id, kind="trace", question=task.strip(),
                      outcome=outcome, reward=reward, meta={"trace_id": trace_id} if outcome != "failure" else {})
    if outcome == "failure":
        item.candidates.append(CandidateRecord(text=answers[-1], origin="failed_trace", messages=messages,
                                               meta={"trace_id": trace_id, "reward": reward}))
    else:
        item.answer, item.messages = answers[-1], messages
    return item


def trace_items(rows: Iterator[Row], path: Path | str, dataset: str, split: str) -> Iterator[ItemRecord]:
    for number, row in rows:
        yield trace_item(path, number, row, dataset, split)


def looks_like_trace(row: dict[str, Any]) -> bool:
    return any(isinstance(row.get(f), list) for f in MESSAGE_FIELDS)
