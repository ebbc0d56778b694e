"""What to export and how: the filters that select negatives and the output options.

Field help lives in each field (``nearmiss.settings.setting``), so the CLI flags and the page
read it from here (``help_of``).
"""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError
from nearmiss.label.final_labels import OUTCOME_LABEL
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.registry import Registry
from nearmiss.settings import check_choices, setting
from nearmiss.store.schema import LABELS, NEGATIVE_LABELS, ORIGINS

STYLES = Registry.of_names("style", ("standard", "conversational"))
HIR_TEMPLATE = "{task}\n\nGive a response whose final answer is: {answer}"
NEVER_NEGATIVE: tuple[str, ...] = tuple(x for x in LABELS if x not in NEGATIVE_LABELS)
EXPORT_LABELS = Registry.of_names("label", (*NEGATIVE_LABELS, OUTCOME_LABEL))  # failed: a trajectory's outcome


def _formats() -> Registry[Any]:
    from nearmiss.export.formats import FORMATS  # whose modules import this one

    return FORMATS


def label_name(name: str) -> str:
    """``near-miss`` / ``Near_Miss`` -> ``near_miss``."""
    return name.strip().lower().replace("-", "_")


@dataclass
class ExportFilters:
    """Which negatives leave the store."""

    labels: list[str] = setting(list(EXPORT_LABELS), "Final labels to export as negatives (default all): "
                                "near_miss and far_miss from people, failed from a trajectory's outcome where "
                                "no person decided it.", EXPORT_LABELS)
    min_annotators: int = setting(1, "Keep a majority label only when at least this many annotators voted "
                                     "(adjudicated and outcome labels always pass).")
    min_agreement: float = setting(0.0, "Keep a majority label only when this share of its votes agree, 0..1 "
                                        "(adjudicated and outcome labels always pass).")
    nearness_min: float | None = setting(None, "Keep negatives with nearness >= this (a negative without a nearness "
                                               "score is then dropped).")
    nearness_max: float | None = setting(None, "Keep negatives with nearness <= this.")
    p_near_min: float | None = setting(None, "Keep negatives whose learned p_near >= this (a negative the ranker has "
                                             "not scored is then dropped).")
    p_near_max: float | None = setting(None, "Keep negatives whose learned p_near <= this.")
    origins: list[str] = setting([], "Keep negatives of these origins only (default all).", ORIGINS)
    datasets: list[str] = setting([], "Keep items of these datasets only (default all).")
    splits: list[str] = setting([], "Keep items of these source splits only (default all).")
    include_unlabeled_distractors: bool = setting(False, "Also export each MCQA item's own wrong choices that "
                                                         "nobody labeled, as label 'unlabeled' (the Likra paper's "
                                                         "default negatives).")

    def __post_init__(self) -> None:
        self.labels = [label_name(x) for x in self.labels]
        for name in self.labels:
            if name in NEVER_NEGATIVE:
                raise ConfigError(f"labels: '{name}' is never exported as a negative; "
                                  f"choose from {', '.join(EXPORT_LABELS)}")
        check_choices(self)
        if self.min_annotators < 1:
            raise ConfigError(f"min_annotators must be >= 1, got {self.min_annotators}")
        if not 0.0 <= self.min_agreement <= 1.0:
            raise ConfigError(f"min_agreement must be within 0..1, got {self.min_agreement}")
        for name in ("nearness", "p_near"):
            lo, hi = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if lo is not None and hi is not None and lo > hi:
                raise ConfigError(f"{name}_min {lo} is above {name}_max {hi}")
        if not self.labels and not self.include_unlabeled_distractors:
            raise ConfigError("labels: no label chosen and unlabeled distractors not included: nothing to export")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExportConfig:
    """One export: format, output folder, split and format options."""

    format: str = setting(help="Output format.", choices=_formats)
    out: Path = setting(help="Output folder (created atomically; must not exist unless overwrite).")
    filters: ExportFilters = setting(ExportFilters(), "Which negatives leave the store.")
    style: str | None = setting(None, "standard (prompt text + continuation) or conversational (user/assistant "
                                      "messages); default: the format's own (dpo, kto: standard; sft, nat: "
                                      "conversational).", STYLES)
    parquet: bool = setting(False, "Write Parquet instead of JSON Lines.")
    val_fraction: float = setting(0.1, "Share of items (not rows) held out as the validation split; 0 writes train "
                                       "only.")
    seed: int = setting(0, "Seed of the train/validation split by item.")
    correct_marker: str = setting(NAT_CORRECT, "NAT: line put before the prompt of the gold answer.")
    incorrect_marker: str = setting(NAT_INCORRECT, "NAT: line put before the prompt of a negative.")
    hir_template: str = setting(HIR_TEMPLATE, "hir: the relabeled instruction of a negative; {task} is the original "
                                              "task, {answer} the answer it reached.")
    overwrite: bool = setting(False, "Replace the output folder if it exists.")

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        check_choices(self)
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be within [0, 1), got {self.val_fraction}")
        if not self.correct_marker.strip() or not self.incorrect_marker.strip():
            raise ConfigError("NAT markers must not be empty")
        if self.correct_marker.strip() == self.incorrect_marker.strip():
            raise ConfigError("correct_marker and incorrect_marker must differ")
        check_template(self.hir_template)

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("filters", "out")}
        return {**d, "out": str(self.out), "filters": self.filters.as_dict()}


def check_template(template: str) -> None:
    """Refuse a relabel template without both ``{task}`` and ``{answer}``, or with other fields."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as e:
        raise ConfigError(f"hir_template: {e} in {template!r}") from e
    if names != {"task", "answer"}:
        raise ConfigError(f"hir_template must use exactly the fields {{task}} and {{answer}}, got "
                          f"{', '.join(sorted('{' + n + '}' for n in names)) or 'none'} in {template!r}")

