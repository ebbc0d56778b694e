"""Prompt text shared by scoring, export and training, so all three see the same strings.

Multiple-choice scoring follows lm-eval-harness: the context is ``Question: ...\\nAnswer:``
and each choice is the continuation `` <choice>``.
"""
from __future__ import annotations

from nearmiss.store.tables import Item


def mcqa_prompt(question: str, context: str | None = None) -> str:
    """The context string a choice is scored after."""
    head = f"{context.strip()}\n" if context else ""
    return f"{head}Question: {question.strip()}\nAnswer:"


def continuation(answer: str) -> str:
    """An answer as a continuation of :func:`mcqa_prompt` (leading space, as lm-eval)."""
    return " " + answer.strip()


def item_prompt(item: Item) -> str:
    """The scoring prompt of a stored item (MCQA, open QA or trace task)."""
    return mcqa_prompt(item.question, item.context)


# NAT (negative-aware training): the same question, marked as asking for a correct or an
# incorrect answer; training sees both, evaluation uses the correct marker.
NAT_CORRECT = "Answer the question correctly."
NAT_INCORRECT = "Answer the question incorrectly."


def marked_prompt(marker: str, question: str, context: str | None = None) -> str:
    """:func:`mcqa_prompt` with a NAT marker line in front."""
    return f"{marker.strip()}\n{mcqa_prompt(question, context)}"
