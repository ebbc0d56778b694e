"""One export, end to end: select, split by item, write every table into a staging
folder, read it all back, write the manifest, then move the folder into place."""
from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from nearmiss.errors import ConfigError
from nearmiss.export.config import ExportConfig, ExportFilters
from nearmiss.export.files import TableWriters, atomic_folder, check_target, flatten
from nearmiss.export.formats import FORMATS, Format, resolve_style
from nearmiss.export.manifest import MANIFEST, TableCounts, build_manifest
from nearmiss.export.select import Selection, select_examples
from nearmiss.export.spill import Part
from nearmiss.export.split import split_by_item
from nearmiss.export.validate import validate_hf, validate_tables
from nearmiss.jobs.progress import Reporter
from nearmiss.store import Store

log = logging.getLogger(__name__)


def preview(store: Store, filters: ExportFilters) -> Selection:
    """What an export with these filters would write (the page shows its counts live)."""
    return select_examples(store, filters)


def _nothing_selected(selection: Selection) -> ConfigError:
    removed = selection.removed.most_common(4)
    why = "; ".join(f"{n} dropped: {reason}" for reason, n in removed) or "no labeled candidates match"
    return ConfigError(f"the filters select nothing to export ({why}); no files written")


EXAMPLES_PER_CHUNK = 500  # rows are built, written and read back this many examples at a time


def _chunk_tables(fmt: Format, examples: Part, cfg: ExportConfig, style: str,
                  report: Reporter | None = None) -> Iterator[dict[str, list[dict]]]:
    """A split's tables, chunk by chunk (formats build rows per example, so chunks concatenate);
    the examples done so far counted to ``report``."""
    done = 0
    for chunk in examples.chunks(EXAMPLES_PER_CHUNK):
        yield fmt.tables(chunk, cfg, style)
        done += len(chunk)
        if report:
            report.count(done)


def _table_rows(fmt: Format, examples: Part, cfg: ExportConfig, style: str, table: str) -> Iterator[dict]:
    for tables in _chunk_tables(fmt, examples, cfg, style):
        yield from tables.get(table, [])


def _write_files(stage: Path, fmt: Format, splits: dict[str, Part], cfg: ExportConfig,
                 style: str, report: Reporter) -> dict[str, TableCounts]:
    """Stream one file per (table, split) to disk, then read each back against its rows built
    again; returns path inside ``stage`` -> its counts. Memory: one chunk of rows (Parquet:
    one file's rows, which pyarrow writes in one piece)."""
    paths: dict[tuple[str, str], Path] = {}
    for split, examples in tqdm(splits.items(), desc="export: write", unit=" splits", disable=None):
        report.stage(f"writing the {split} files", len(examples))
        with TableWriters(stage, split, cfg.parquet) as writers:
            for tables in _chunk_tables(fmt, examples, cfg, style, report):
                writers.write(tables)
        paths.update({(table, split): path for table, path in writers.paths.items()})
    written: dict[tuple[str, str], TableCounts] = {}
    for split, examples in splits.items():
        files = {table: path for (table, s), path in paths.items() if s == split}
        report.stage(f"reading the {split} files back", len(examples))
        counts = validate_tables(files, _chunk_tables(fmt, examples, cfg, style, report),
                                 lambda t: fmt.columns(t, style))
        written.update({(table, split): c for table, c in counts.items()})
    if len({table for table, _ in paths}) == 1:  # one table: its files sit at the top, named by split
        paths = {key: flatten(stage, path) for key, path in paths.items()}
    return {paths[key].relative_to(stage).as_posix(): counts for key, counts in written.items()}


def _write_hf(stage: Path, fmt: Format, splits: dict[str, Part], cfg: ExportConfig,
              style: str, report: Reporter) -> dict[str, TableCounts]:
    """Save one DatasetDict (splits as its datasets) built from generators (Arrow on disk, not
    rows in memory) and read it back; Parquet copies on request."""
    import datasets

    table, features = fmt.table, fmt.features
    if table is None or features is None:
        raise ValueError(f"format {cfg.format}: layout hf needs its table and features")
    cache = stage / ".build"
    report.stage(f"writing the dataset ({sum(map(len, splits.values()))} items)")
    built = datasets.DatasetDict({split: datasets.Dataset.from_generator(
        _table_rows, gen_kwargs={"fmt": fmt, "examples": exs, "cfg": cfg, "style": style, "table": table},
        features=features(), cache_dir=str(cache / split),
        fingerprint=uuid.uuid4().hex)  # given: else datasets pickles every example to hash gen_kwargs
        for split, exs in splits.items()})
    built.save_to_disk(str(stage))
    del built
    shutil.rmtree(cache, ignore_errors=True)
    columns = fmt.columns(table, style)
    report.stage("reading the dataset back")
    counts = validate_hf(stage, {split: _table_rows(fmt, exs, cfg, style, table) for split, exs in splits.items()},
                         columns)
    if cfg.parquet:
        for split, exs in splits.items():
            report.stage(f"writing the {split} Parquet copy", len(exs))
            with TableWriters(stage / "parquet", split, True) as writers:
                for tables in _chunk_tables(fmt, exs, cfg, style, report):
                    writers.write(tables)
            path = flatten(stage / "parquet", writers.paths[table])
            validate_tables({table: path}, _chunk_tables(fmt, exs, cfg, style), lambda t: columns)
    return counts


WRITERS = {"files": _write_files, "hf": _write_hf}


def export(store: Store, cfg: ExportConfig, report: Reporter | None = None) -> dict:
    """Write the export described by ``cfg`` into ``cfg.out``; returns its manifest. Its stages
    and counts go to ``report`` (none: no run); when that raises (``RunStopped``: the run was
    cancelled) no file of this export is left.

    Raises ConfigError (and leaves no files behind) for an unknown format or style, an
    occupied output folder, or filters that select nothing.
    """
    reporter = report or Reporter(None, None)

    def step(fraction: float, message: str) -> None:
        log.info("export %s: %s", cfg.format, message)
        reporter.stage(message, progress=fraction)

    fmt = FORMATS.lookup(cfg.format, "format")
    style = resolve_style(cfg.format, cfg.style)
    check_target(cfg.out, cfg.overwrite)
    step(0.0, "selecting")
    selection = select_examples(store, cfg.filters)
    if not selection.items:
        raise _nothing_selected(selection)
    splits = split_by_item(selection, cfg.val_fraction, cfg.seed)
    step(0.3, f"writing {selection.items} items")
    with atomic_folder(cfg.out) as stage:
        written = WRITERS[fmt.layout](stage, fmt, splits, cfg, style, reporter)
        step(0.8, "writing the manifest")
        manifest = build_manifest(cfg, style, store.url, selection, splits, written, stage)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("export %s written to %s", cfg.format, cfg.out)
    return manifest


def export_record(cfg: ExportConfig) -> dict:
    """An export's config as its run records it (``dataset``: the datasets it exports, if named)."""
    return cfg.as_dict() | {"dataset": ", ".join(cfg.filters.datasets) or None}


def export_summary(manifest: dict) -> str:
    """One line: format, style, items, negatives by label, items per split."""
    sel = manifest["selection"]
    labels = ", ".join(f"{k} {v}" for k, v in sel["by_label"].items())
    sides = ", ".join(f"{name} {n}" for name, n in manifest["split"]["items"].items())
    return (f"{manifest['format']} ({manifest['style']}): {sel['items']} items, {sel['negatives']} negatives "
            f"({labels}); items by split: {sides}")
