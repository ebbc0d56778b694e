"""Export formats, one module each, found through the ``FORMATS`` registry.

A format turns the examples of one split into named tables of rows (``tables``) and says
which columns each table must have and how to check them (``columns``), so a written file
can be read back and validated. ``layout`` says how tables reach the disk: ``files``
(one JSON Lines or Parquet file per table and split) or ``hf`` (a DatasetDict saved to disk).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nearmiss.errors import ConfigError
from nearmiss.export.config import ExportConfig
from nearmiss.export.formats import dpo, hf, hir, kto, likra, nat, sft
from nearmiss.export.formats.rows import Check
from nearmiss.export.select import Example
from nearmiss.registry import Registry


@dataclass(frozen=True)
class Format:
    """How one export format is made and checked."""

    tables: Callable[[list[Example], ExportConfig, str], dict[str, list[dict]]]
    columns: Callable[[str, str], dict[str, Check]]
    styles: tuple[str, ...]  # the first is the default
    help: str
    layout: Literal["files", "hf"] = "files"
    table: str | None = None  # layout hf: the one table, saved as a DatasetDict
    features: Callable[[], Any] | None = None  # layout hf: the datasets.Features of its rows


FORMATS: Registry[Format] = Registry("format", {
    "dpo": Format(dpo.tables, dpo.columns, ("standard", "conversational"),
                  "TRL preference (DPOTrainer): prompt/chosen/rejected"),
    "kto": Format(kto.tables, kto.columns, ("standard", "conversational"),
                  "TRL unpaired preference (KTOTrainer): prompt/completion/label"),
    "sft": Format(sft.tables, sft.columns, ("conversational", "standard"),
                  "SFT (SFTTrainer): messages with the correct answer only"),
    "nat": Format(nat.tables, nat.columns, ("conversational", "standard"),
                  "NAT (SFTTrainer): correct/incorrect markers before the prompt; traces as trajectories "
                  "with per-message loss flags"),
    "hir": Format(hir.tables, hir.columns, ("conversational",),
                  "Hindsight relabeling: negatives under a rewritten instruction they answer, gold as is"),
    "likra": Format(likra.tables, likra.columns, ("standard",),
                    "Likra: a positive set and a negative set (label, origin, nearness)"),
    "hf": Format(hf.tables, hf.columns, ("standard",),
                 "HF datasets DatasetDict on disk: one row per answer with all metadata", layout="hf",
                 table=hf.TABLE, features=hf.features),
})


def resolve_style(name: str, style: str | None) -> str:
    """The style to write: the one asked for, or the format's default; refused if unsupported."""
    fmt = FORMATS.lookup(name, "format")
    if style is None:
        return fmt.styles[0]
    if style not in fmt.styles:
        raise ConfigError(f"format {name} has no {style} style; it writes: {', '.join(fmt.styles)}")
    return style
