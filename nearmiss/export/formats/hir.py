"""Hindsight instruction relabeling (HIR): every output becomes a correct answer to some
instruction. A negative's task message is rewritten with ``ExportConfig.hir_template``
(``{task}``: the original task, ``{answer}``: the answer the failed output reached), so
the failed output answers the relabeled goal; the gold output keeps the original
instruction. Rows are ``messages`` (a trace's whole conversation, or user and assistant),
``instruction`` (the original task: a trace's task, an item's prompt), ``relabeled``, and the first wrong step annotators
marked on a failed trace."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import (
    META,
    Check,
    clean_turns,
    conversation_of,
    gold_meta,
    is_bool,
    is_conversation,
    is_optional_number,
    is_text,
    messages,
    negative_meta,
)
from nearmiss.export.select import Example, Negative

TABLE = "hir"


def relabel(conversation: list[dict], template: str, answer: str) -> list[dict]:
    """The conversation with its first user message rewritten as ``template`` says."""
    turns = clean_turns(conversation)
    first_user = next(i for i, m in enumerate(turns) if m["role"] == "user")
    turns[first_user]["content"] = template.format(task=turns[first_user]["content"], answer=answer.strip())
    return turns


def _messages(ex: Example, neg: Negative | None, template: str | None) -> list[dict]:
    answer = ex.gold if neg is None else neg.text
    conversation = conversation_of(ex, neg)
    if conversation:
        return relabel(conversation, template, answer) if template else clean_turns(conversation)
    task = template.format(task=ex.prompt, answer=answer.strip()) if template else ex.prompt
    return messages(task, answer)


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        instruction = ex.question if ex.kind == "trace" else ex.prompt
        rows.append({"messages": _messages(ex, None, None), "instruction": instruction, "relabeled": False,
                     "first_wrong_step": None, **gold_meta(ex)})
        rows += [{"messages": _messages(ex, neg, cfg.hir_template), "instruction": instruction, "relabeled": True,
                  "first_wrong_step": neg.first_wrong_step, **negative_meta(ex, neg)} for neg in ex.negatives]
    return {TABLE: rows}


def columns(table: str, style: str) -> dict[str, Check]:
    return {"messages": is_conversation, "instruction": is_text, "relabeled": is_bool,
            "first_wrong_step": is_optional_number, **META}
