"""One export, end to end: select, split by item, write every table into a staging
folder, read it all back, write the manifest, then move the folder into place."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from curator.errors import ConfigError
from curator.export.config import ExportConfig, ExportFilters
from curator.export.files import atomic_folder, check_target, write_rows
from curator.export.formats import Format, get_format, resolve_style
from curator.export.manifest import MANIFEST, build_manifest
from curator.export.select import Selection, select_examples
from curator.export.split import split_by_item
from curator.export.validate import validate_file, validate_hf
from curator.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def preview(store: Store, filters: ExportFilters) -> Selection:
    """What an export with these filters would write (the page shows its counts live)."""
    return select_examples(store, filters)


def _nothing_selected(selection: Selection) -> ConfigError:
    removed = selection.removed.most_common(4)
    why = "; ".join(f"{n} dropped: {reason}" for reason, n in removed) or "no labeled candidates match"
    return ConfigError(f"the filters select nothing to export ({why}); no files written")


def _write_files(stage: Path, fmt: Format, tables: dict[str, dict[str, list[dict]]], style: str,
                 parquet: bool) -> dict[str, list[dict]]:
    """Write and read back one file per (table, split); returns path inside ``stage`` -> rows."""
    written: dict[str, list[dict]] = {}
    names = sorted({t for per_split in tables.values() for t in per_split})
    jobs = [(split, table) for split in tables for table in names]
    for split, table in tqdm(jobs, desc="export: write", unit=" files", disable=None):
        rows = tables[split].get(table, [])
        if not rows:
            continue
        path = write_rows(stage / table / split if len(names) > 1 else stage / split, rows, parquet)
        validate_file(path, rows, fmt.columns(table, style))
        written[path.relative_to(stage).as_posix()] = rows
    return written


def _write_hf(stage: Path, fmt: Format, tables: dict[str, dict[str, list[dict]]], style: str,
              parquet: bool) -> dict[str, list[dict]]:
    """Save one DatasetDict (splits as its datasets) and read it back; Parquet copies on request."""
    import datasets

    (table,) = {t for per_split in tables.values() for t in per_split}
    by_split = {split: per_split[table] for split, per_split in tables.items()}
    datasets.DatasetDict({s: datasets.Dataset.from_list(rows) for s, rows in by_split.items()}).save_to_disk(str(stage))
    validate_hf(stage, by_split, fmt.columns(table, style))
    if parquet:
        for split, rows in by_split.items():
            validate_file(write_rows(stage / "parquet" / split, rows, True), rows, fmt.columns(table, style))
    return by_split


WRITERS = {"files": _write_files, "hf": _write_hf}


def export(store: Store, cfg: ExportConfig, progress: Progress | None = None) -> dict:
    """Write the export described by ``cfg`` into ``cfg.out``; returns its manifest.

    Raises ConfigError (and leaves no files behind) for an unknown format or style, an
    occupied output folder, or filters that select nothing.
    """
    def step(fraction: float, message: str) -> None:
        log.info("export %s: %s", cfg.format, message)
        if progress:
            progress(fraction, message)

    fmt = get_format(cfg.format)
    style = resolve_style(cfg.format, cfg.style)
    check_target(cfg.out, cfg.overwrite)
    step(0.0, "selecting")
    selection = select_examples(store, cfg.filters)
    if not selection.examples:
        raise _nothing_selected(selection)
    splits = split_by_item(selection.examples, cfg.val_fraction, cfg.seed)
    tables = {split: fmt.tables(examples, cfg, style) for split, examples in splits.items()}
    step(0.3, f"writing {sum(len(r) for t in tables.values() for r in t.values())} rows")
    with atomic_folder(cfg.out) as stage:
        written = WRITERS[fmt.layout](stage, fmt, tables, style, cfg.parquet)
        step(0.8, "writing the manifest")
        manifest = build_manifest(cfg, style, store.url, selection, splits, written, stage)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    step(1.0, f"done: {cfg.out}")
    return manifest


