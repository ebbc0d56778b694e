"""Agent traces: OpenAI-messages JSONL, ShareGPT JSON and NAT trajectories.

Each trace belongs to a task (an item). A successful trace gives the item its gold
conversation; a failed one becomes a candidate of origin ``failed_trace``; one whose
outcome cannot be found is stored as a candidate of origin ``given`` with outcome
``unknown`` (annotators decide) and counted in the load's summary.

NAT's own files (Reason-Wang/NAT ``data/dataset/<task>/*_{positive,negative}.json``) nest
the outcome: ``info.reward`` (else ``info.acc``), the reference answer ``info.gt`` and the
trajectory's final answer ``info.pred``; ``id`` names the task, shared by its trajectories.
The same ``info`` object is read on OpenAI and ShareGPT rows. Per-message ``loss`` flags
are kept, so a NAT export writes them back.

A message's content (OpenAI ``content``, ShareGPT ``value``) is stored as text in every
format: text as given, null as empty, a list of OpenAI text parts joined by newlines; any
other value (a number, an object, an image part) is refused naming the message.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nearmiss.errors import LoadError, shown
from nearmiss.load.sources.rows import Row
from nearmiss.names import id_problem
from nearmiss.registry import Registry
from nearmiss.store.schema import CandidateRecord, ItemRecord, stable_id

SHAREGPT_ROLES = Registry("speaker", {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
    "bard": "assistant", "bing": "assistant", "system": "system", "function_call": "assistant", "observation": "tool",
    "tool": "tool", "function": "tool"})
MESSAGE_FIELDS = ("messages", "conversations", "conversation", "trajectory", "steps")
TASK_FIELDS = ("task", "instruction", "goal", "question")
TASK_ID_FIELDS = ("task_id", "problem_id", "question_id")
OUTCOME_FIELDS = ("reward", "acc")  # inside ``info``, in this order


def _messages(path: Path | str, number: int, row: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    name = next((f for f in MESSAGE_FIELDS if f in row), None)
    raw = row[name] if name else None
    if name is None or not isinstance(raw, list):
        raise LoadError(path, number, name or "messages", "missing conversation (a list of messages)")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise LoadError(path, number, f"{name}[{i}]", "a message must be an object")
        if "from" in m:  # ShareGPT
            role = SHAREGPT_ROLES.get(str(m["from"]).lower())
            if role is None:
                raise LoadError(path, number, f"{name}[{i}].from", SHAREGPT_ROLES.unknown(m["from"]))
            msg: dict[str, Any] = {"role": role,
                                   "content": _content(path, number, f"{name}[{i}].value", m.get("value"))}
        elif "role" in m:
            msg = {k: v for k, v in m.items() if k in ("role", "tool_calls", "name", "tool_call_id")}
            msg["content"] = _content(path, number, f"{name}[{i}].content", m.get("content"))
        else:
            raise LoadError(path, number, f"{name}[{i}]", "a message needs 'role' (OpenAI) or 'from' (ShareGPT)")
        if "loss" in m:
            if not isinstance(m["loss"], bool):
                raise LoadError(path, number, f"{name}[{i}].loss", f"expected true or false, got {shown(m['loss'])}")
            msg["loss"] = m["loss"]
        out.append(msg)
    return name, out


def _content(path: Path | str, number: int, field: str, value: Any) -> str:
    """A message's content as text (see the module docstring)."""
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise LoadError(path, number, field, f"expected text or a list of text parts, got {type(value).__name__}")
    for j, part in enumerate(value):
        if not (isinstance(part, dict) and part.get("type", "text") == "text" and isinstance(part.get("text"), str)):
            raise LoadError(path, number, f"{field}[{j}]", "expected a text part {'type': 'text', 'text': ...}; "
                                                            "only text is kept")
    return "\n".join(part["text"] for part in value)


def _answer_text(value: Any) -> str:
    """A reference or predicted answer as text (NAT stores yes/no answers as booleans)."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).strip()


def _info(path: Path | str, number: int, row: dict[str, Any]) -> dict[str, Any]:
    info = row.get("info", {})
    if not isinstance(info, dict):
        raise LoadError(path, number, "info", f"expected an object, got {type(info).__name__}")
    return info


def _judged(path: Path | str, number: int, field: str, value: Any) -> tuple[str, float | None]:
    if isinstance(value, bool):
        return ("success" if value else "failure"), float(value)
    if isinstance(value, (int, float)) and value == value:  # NaN is no outcome
        return ("success" if value > 0 else "failure"), float(value)
    raise LoadError(path, number, field, f"expected true, false or a number, got {shown(value)}")


def _outcome(path: Path | str, number: int, row: dict[str, Any], info: dict[str, Any]) -> tuple[str, float | None]:
    """success / failure / unknown, and the reward when there is one."""
    reward = row.get("reward")
    if "success" in row:
        if not isinstance(row["success"], bool):
            raise LoadError(path, number, "success", f"expected true or false, got {shown(row['success'])}")
        return ("success" if row["success"] else "failure"), reward
    if "outcome" in row:
        value = str(row["outcome"]).lower()
        if value not in ("success", "failure", "unknown"):
            raise LoadError(path, number, "outcome", f"expected success, failure or unknown, got {shown(row['outcome'])}")
        return value, reward
    if reward is not None:
        return _judged(path, number, "reward", reward)
    field = next((f for f in OUTCOME_FIELDS if info.get(f) is not None), None)
    if field is not None:
        return _judged(path, number, f"info.{field}", info[field])
    return "unknown", None


def _task(row: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    """The task text: a task field, else the user message that opens the conversation (before
    any agent turn). NAT's files keep the question elsewhere, so their rows may have none."""
    task = next((str(row[f]) for f in TASK_FIELDS if row.get(f)), None)
    if task is None:
        opening = next((m for m in messages if m["role"] in ("user", "assistant")), None)
        task = opening["content"] if opening and opening["role"] == "user" else None
    return task.strip() if task and task.strip() else None


def _task_id(path: Path | str, number: int, row: dict[str, Any], nat: bool, task: str | None) -> str | None:
    ids = TASK_ID_FIELDS + (("id",) if nat else ())
    field = next((f for f in ids if row.get(f) not in (None, "")), None)
    if field is None:
        return task and stable_id(task)
    if problem := id_problem(str(row[field])):
        raise LoadError(path, number, field, problem)
    return str(row[field])


def trace_item(path: Path | str, number: int, row: dict[str, Any], dataset: str, split: str) -> ItemRecord:
    """One trace row as its task's item, carrying the trace as gold or as a candidate."""
    field, messages = _messages(path, number, row)
    info = _info(path, number, row)
    nat = "info" in row
    task = _task(row, messages)
    task_id = _task_id(path, number, row, nat, task)
    if task_id is None:
        raise LoadError(path, number, field, "no task: give a 'task' field, a user message or an 'id'")
    outcome, reward = _outcome(path, number, row, info)
    item = ItemRecord(dataset=dataset, split=split, native_id=task_id, kind="trace",
                      question=task or f"Task {task_id} (no task text in the file)", outcome=outcome, reward=reward,
                      tally=outcome)
    if info.get("gt") is not None:
        item.answer = _answer_text(info["gt"])
    if not messages:
        item.tally = "empty"
        return item
    answers = [m["content"] for m in messages if m["role"] == "assistant" and m["content"].strip()]
    final = _answer_text(info["pred"]) if info.get("pred") is not None else (answers[-1] if answers else "")
    if not final:
        raise LoadError(path, number, field, "no assistant message with content")
    trace_id = str(row.get("id") or f"row{number}") if not nat else f"{task_id}:{number}"
    if outcome == "success":
        item.answer, item.messages = item.answer or final, messages
        item.meta["trace_id"] = trace_id
    else:
        origin = "failed_trace" if outcome == "failure" else "given"
        item.candidates.append(CandidateRecord(text=final, origin=origin, messages=messages,
                                               meta={"trace_id": trace_id, "reward": reward, "outcome": outcome}))
    return item


def trace_items(rows: Iterator[Row], path: Path | str, dataset: str, split: str) -> Iterator[ItemRecord]:
    for number, row in rows:
        yield trace_item(path, number, row, dataset, split)


def looks_like_trace(row: dict[str, Any]) -> bool:
    return any(isinstance(row.get(f), list) for f in MESSAGE_FIELDS)
