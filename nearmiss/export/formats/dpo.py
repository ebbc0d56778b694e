"""TRL preference rows (DPOTrainer): ``prompt``/``chosen``/``rejected``, one per negative.

Conversational traces keep their whole conversations: the prompt is the failed trace's
turns up to its task message, chosen and rejected the successful and failed turns after it."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import META, Check, answer_turns, completion_check, negative_meta, prompt_check
from nearmiss.export.select import Example

TABLE = "preference"


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        chosen = answer_turns(ex, None, style)[1]
        for neg in ex.negatives:
            prompt, rejected = answer_turns(ex, neg, style)
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, **negative_meta(ex, neg)})
    return {TABLE: rows}


def columns(table: str, style: str) -> dict[str, Check]:
    return {"prompt": prompt_check(style), "chosen": completion_check(style), "rejected": completion_check(style), **META}
