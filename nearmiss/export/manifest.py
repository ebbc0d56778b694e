"""The manifest written beside every export: what was selected and how, and what each
file holds (rows, counts per label and origin, sha256)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nearmiss.export.config import ExportConfig
from nearmiss.export.files import files_under, sha256_file
from nearmiss.export.select import Selection
from nearmiss.export.spill import Part
from nearmiss.store.engine import store_name
from nearmiss.store.tables import utcnow

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class TableCounts:
    """Rows of one written table, and rows per final label and per origin (gold rows count
    as ``gold``), counted as the rows stream by."""

    rows: int = 0
    by_label: Counter = field(default_factory=Counter)
    by_origin: Counter = field(default_factory=Counter)

    def add(self, row: dict) -> None:
        self.rows += 1
        self.by_label[row["final_label"]] += 1
        self.by_origin[row["origin"]] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "by_label": dict(sorted(self.by_label.items())),
                "by_origin": dict(sorted(self.by_origin.items()))}


def build_manifest(cfg: ExportConfig, style: str, store_url: str, selection: Selection,
                   splits: dict[str, Part], tables: dict[str, TableCounts], folder: Path) -> dict[str, Any]:
    """The manifest of a staged export folder (``tables``: path inside it -> what was written there)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "format": cfg.format,
        "style": style,
        "created_at": utcnow().isoformat(),
        "snapshot_time": selection.snapshot_time.isoformat(),
        "schema_version": selection.schema_version,
        "store": store_name(store_url),  # its name only: no path, host or credentials
        "options": {**{k: v for k, v in cfg.as_dict().items() if k != "filters"},
                    "out": cfg.out.name},  # the folder's name: where it sat on the writing machine is no one's concern
        "filters": cfg.filters.as_dict(),
        "selection": selection.counts(),
        "split": {"val_fraction": cfg.val_fraction, "seed": cfg.seed, "by": "item (normalised prompt)",
                  "items": {name: len(part) for name, part in splits.items()},
                  "negatives": {name: part.negatives for name, part in splits.items()}},
        "tables": {path: counts.as_dict() for path, counts in tables.items()},
        "files": {rel.as_posix(): {"sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
                  for rel in files_under(folder)},
    }
