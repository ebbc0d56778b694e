"""What to export and how: the filters that select negatives and the output options.

Field help lives in each field's metadata, so the CLI flags and the page read it from
here (``help_of``).
"""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from nearmiss.errors import ConfigError
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.store.schema import LABELS, NEGATIVE_LABELS, ORIGINS

Style = Literal["standard", "conversational"]
STYLES: tuple[str, ...] = ("standard", "conversational")
HIR_TEMPLATE = "{task}\n\nGive a response whose final answer is: {answer}"
NEVER_NEGATIVE: tuple[str, ...] = tuple(x for x in LABELS if x not in NEGATIVE_LABELS)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


def label_name(name: str) -> str:
    """``near-miss`` / ``Near_Miss`` -> ``near_miss``."""
    return name.strip().lower().replace("-", "_")


@dataclass
class ExportFilters:
    """Which negatives leave the store."""

    labels: list[str] = field(default_factory=lambda: list(NEGATIVE_LABELS), metadata=_help(
        f"Final labels to export as negatives: {', '.join(NEGATIVE_LABELS)} (default both)."))
    min_annotators: int = field(default=1, metadata=_help(
        "Keep a majority label only when at least this many annotators voted (adjudicated labels always pass)."))
    min_agreement: float = field(default=0.0, metadata=_help(
        "Keep a majority label only when this share of its votes agree, 0..1 (adjudicated labels always pass)."))
    nearness_min: float | None = field(default=None, metadata=_help(
        "Keep negatives with nearness >= this (a negative without a nearness score is then dropped)."))
    nearness_max: float | None = field(default=None, metadata=_help("Keep negatives with nearness <= this."))
    p_near_min: float | None = field(default=None, metadata=_help(
        "Keep negatives whose learned p_near >= this (a negative the ranker has not scored is then dropped)."))
    p_near_max: float | None = field(default=None, metadata=_help("Keep negatives whose learned p_near <= this."))
    origins: list[str] = field(default_factory=list, metadata=_help(
        f"Keep negatives of these origins only: {', '.join(ORIGINS)} (default all)."))
    datasets: list[str] = field(default_factory=list, metadata=_help("Keep items of these datasets only (default all)."))
    splits: list[str] = field(default_factory=list, metadata=_help(
        "Keep items of these source splits only (default all)."))
    include_unlabeled_distractors: bool = field(default=False, metadata=_help(
        "Also export each MCQA item's own wrong choices that nobody labeled, as label 'unlabeled' "
        "(the Likra paper's default negatives)."))

    def __post_init__(self) -> None:
        self.labels = [label_name(x) for x in self.labels]
        for name in self.labels:
            if name in NEVER_NEGATIVE:
                raise ConfigError(f"labels: '{name}' is never exported as a negative; "
                                  f"choose from {', '.join(NEGATIVE_LABELS)}")
            if name not in NEGATIVE_LABELS:
                raise ConfigError(f"labels: unknown label '{name}'; choose from {', '.join(NEGATIVE_LABELS)}")
        unknown = [o for o in self.origins if o not in ORIGINS]
        if unknown:
            raise ConfigError(f"origins: unknown origin '{unknown[0]}'; choose from {', '.join(ORIGINS)}")
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

    format: str = field(metadata=_help("Output format: dpo, kto, sft, nat, hir, likra or hf."))
    out: Path = field(metadata=_help("Output folder (created atomically; must not exist unless overwrite)."))
    filters: ExportFilters = field(default_factory=ExportFilters)
    style: Style | None = field(default=None, metadata=_help(
        "standard (prompt text + continuation) or conversational (user/assistant messages); "
        "default: the format's own (dpo, kto: standard; sft, nat: conversational)."))
    parquet: bool = field(default=False, metadata=_help("Write Parquet instead of JSON Lines."))
    val_fraction: float = field(default=0.1, metadata=_help(
        "Share of items (not rows) held out as the validation split; 0 writes train only."))
    seed: int = field(default=0, metadata=_help("Seed of the train/validation split by item."))
    correct_marker: str = field(default=NAT_CORRECT, metadata=_help("NAT: line put before the prompt of the gold answer."))
    incorrect_marker: str = field(default=NAT_INCORRECT, metadata=_help(
        "NAT: line put before the prompt of a negative."))
    hir_template: str = field(default=HIR_TEMPLATE, metadata=_help(
        "hir: the relabeled instruction of a negative; {task} is the original task, {answer} the answer it reached."))
    overwrite: bool = field(default=False, metadata=_help("Replace the output folder if it exists."))

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.style is not None and self.style not in STYLES:
            raise ConfigError(f"style: unknown style '{self.style}'; choose from {', '.join(STYLES)}")
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


def help_of(cls: type, name: str) -> str:
    """The help text of a config field (for CLI flags and page widgets)."""
    return next(f.metadata.get("help", "") for f in fields(cls) if f.name == name)
