"""Agent-trace rows in OpenAI-messages form (a success and failures per task), and a store
loaded with them through the real trace loader."""
from __future__ import annotations

import json
from pathlib import Path

from nearmiss.load.ingest import ingest
from nearmiss.load.sources.traces import trace_item
from nearmiss.store import Store


def trace_rows(n_tasks: int = 2) -> list[dict]:
    """Per task: one successful trace (tool call, observation, answer) and one failed trace
    whose wrong step is its first assistant message (index 2)."""
    rows = []
    for t in range(n_tasks):
        a, b = 17 + t, 25 + t
        task = f"Use the calculator to find {a} * {b}."
        head = [{"role": "system", "content": "You are an agent with a calculator tool."},
                {"role": "user", "content": task}]
        call = {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": json.dumps({"x": f"{a}*{b}"})}}
        ok = head + [{"role": "assistant", "content": "I will multiply.", "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": "c1", "content": str(a * b)},
                     {"role": "assistant", "content": f"The answer is {a * b}."}]
        bad = head + [{"role": "assistant", "content": f"I will add instead: {a} + {b}.", "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": "c1", "content": str(a + b)},
                      {"role": "assistant", "content": f"The answer is {a + b}."}]
        rows += [{"id": f"t{t}-ok", "task_id": f"t{t}", "task": task, "messages": ok, "success": True},
                 {"id": f"t{t}-bad", "task_id": f"t{t}", "task": task, "messages": bad, "success": False}]
    return rows


def write_traces(path: Path, n_tasks: int = 2) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in trace_rows(n_tasks)), encoding="utf-8")
    return path


def add_traces(store: Store, n_tasks: int = 2, dataset: str = "agent") -> None:
    ingest(store, [trace_item("traces.jsonl", n, row, dataset, "test") for n, row in enumerate(trace_rows(n_tasks), 1)])
