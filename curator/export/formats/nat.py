"""NAT rows (SFTTrainer on both): the gold answer after the "correct" marker and each
negative after the "incorrect" marker, in SFT's row shapes. Markers come from the config
(defaults in ``curator.prompts``); evaluation prompts with the correct marker."""
from __future__ import annotations

from curator.export.config import ExportConfig
from curator.export.formats.rows import Check, gold_meta, negative_meta
from curator.export.formats.sft import answer_columns, answer_row
from curator.export.select import Example
from curator.prompts import marked_prompt

TABLE = "nat"


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        right = marked_prompt(cfg.correct_marker, ex.question, ex.context)
        wrong = marked_prompt(cfg.incorrect_marker, ex.question, ex.context)
        rows.append({**answer_row(right, ex.gold, style), **gold_meta(ex)})
        rows += [{**answer_row(wrong, neg.text, style), **negative_meta(ex, neg)} for neg in ex.negatives]
    return {TABLE: rows}


def columns(table: str, style: str) -> dict[str, Check]:
    return answer_columns(style)
