"""An HF ``datasets.DatasetDict`` saved to disk: one row per answer (the gold answer and
every negative) with everything known about it (annotators' comments and flag included), for pipelines that build their own
format with ``datasets.load_from_disk``."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.likra import STATS
from nearmiss.export.formats.rows import (
    META,
    Check,
    gold_meta,
    is_bool,
    is_optional_text,
    is_text,
    is_text_list,
    negative_meta,
)
from nearmiss.export.select import Example
from nearmiss.lm.prompts import continuation

TABLE = "answers"


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        item = {"dataset": ex.dataset, "source_split": ex.split, "question": ex.question, "context": ex.context,
                "prompt": ex.prompt}
        rows.append({**item, "completion": continuation(ex.gold), "correct": True, **gold_meta(ex),
                     "nearness": None, "annotators": None, "agreement": None, "comments": [], "flagged": False})
        rows += [{**item, "completion": continuation(neg.text), "correct": False, **negative_meta(ex, neg),
                  "nearness": neg.nearness, "annotators": neg.annotators, "agreement": neg.agreement,
                  "comments": neg.comments, "flagged": neg.flagged}
                 for neg in ex.negatives]
    return {TABLE: rows}


TEXT = ("dataset", "source_split", "question", "context", "prompt", "completion", "item_id", "candidate_id",
        "final_label", "origin")


def features():
    """The Arrow types of the rows, given up front: a stream's first rows may hold only nulls
    where later rows hold values."""
    from datasets import Features, List, Value

    return Features({**{name: Value("string") for name in TEXT}, "correct": Value("bool"),
                     "nearness": Value("float64"), "annotators": Value("int64"), "agreement": Value("float64"),
                     "comments": List(Value("string")), "flagged": Value("bool")})


def columns(table: str, style: str) -> dict[str, Check]:
    return {"dataset": is_text, "source_split": is_text, "question": is_text, "context": is_optional_text,
            "prompt": is_text, "completion": is_text, "correct": is_bool, **META, **STATS,
            "comments": is_text_list, "flagged": is_bool}
