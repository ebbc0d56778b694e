"""CHAMP competition-math conversations (champ-dataset package) as agent traces.

Each model's solution conversation is a trace of its problem. A trace succeeds when its
final message states the gold answer: for integer answers, the integer appears among the
final message's numbers; for yes/no answers, the word does. Problems whose gold answer
is an expression cannot be judged this way and are skipped.
"""
from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nearmiss.errors import NotFoundError
from nearmiss.load.sources.traces import trace_item
from nearmiss.store.schema import ItemRecord

ROLES = {"System": "system", "User": "user", "Imputation": "assistant"}
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def data_path() -> Path:
    spec = importlib.util.find_spec("champ_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("CHAMP traces need champ-dataset: pip install --no-deps champ-dataset==1.0.0")
    return Path(spec.submodule_search_locations[0]) / "dataset_files" / "v0.json"


def judge(gold: str, final: str) -> bool | None:
    """True/False when the final message does/doesn't state ``gold``; None if not judgeable."""
    gold = gold.strip()
    if re.fullmatch(r"-?\d+", gold):
        return int(gold) in {int(float(n.replace(",", ""))) for n in NUMBER.findall(final) if "." not in n}
    if gold.lower() in ("yes", "no"):
        words = set(re.findall(r"[a-z]+", final.lower()))
        return gold.lower() in words and ({"yes", "no"} - {gold.lower()}).isdisjoint(words)
    return None


def _messages(conv: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": ROLES.get(m["role"], "assistant"), "content": m["text"]} for m in conv["messages"]]


def champ_rows() -> Iterator[tuple[int, dict[str, Any]]]:
    """Trace rows, prompt setting by setting (all models' 0-shot first), problem by problem."""
    problems = json.loads(data_path().read_text(encoding="utf-8"))["problems"]
    settings = sorted({k for p in problems.values() for k in p["conversations"]},
                      key=lambda k: (k.split("|")[1] != "0-Shot", k.split("|")[1], k))
    n = 0
    for setting in settings:
        for pid, problem in problems.items():
            conv = problem["conversations"].get(setting)
            if conv is None:
                continue
            messages = _messages(conv)
            n += 1
            if any(m["content"] is None for m in messages):  # the API call failed mid-conversation
                continue
            ok = judge(problem["_answer"], messages[-1]["content"])
            if ok is None:
                continue
            yield n, {"id": f"{pid}|{setting}", "task_id": pid, "task": problem["_text"], "messages": messages,
                      "success": ok, "setting": setting, "gold_answer": problem["_answer"]}


def champ_items(split: str | None) -> Iterator[ItemRecord]:
    path = data_path()
    for n, row in champ_rows():
        item = trace_item(path, n, row, "champ", split or "test")
        item.meta.update(gold_answer=row["gold_answer"], setting=row["setting"])
        yield item
