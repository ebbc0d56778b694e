"""Likra sets: ``positive`` (prompt, gold continuation) and ``negative`` (prompt, wrong
continuation, with label, origin, nearness and annotator agreement), one folder each."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import META, Check, gold_meta, is_optional_number, is_text, negative_meta
from nearmiss.export.select import Example
from nearmiss.lm.prompts import continuation

STATS: dict[str, Check] = {"nearness": is_optional_number, "annotators": is_optional_number,
                           "agreement": is_optional_number}


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    positive = [{"prompt": ex.prompt, "completion": continuation(ex.gold), **gold_meta(ex)} for ex in examples]
    negative = [{"prompt": ex.prompt, "completion": continuation(neg.text), **negative_meta(ex, neg),
                 "nearness": neg.nearness, "annotators": neg.annotators, "agreement": neg.agreement}
                for ex in examples for neg in ex.negatives]
    return {"positive": positive, "negative": negative}


def columns(table: str, style: str) -> dict[str, Check]:
    base = {"prompt": is_text, "completion": is_text, **META}
    return {**base, **STATS} if table == "negative" else base
