"""Export curated negatives to training formats (TRL DPO/KTO/SFT, NAT, Likra, HF datasets).

``export(store, ExportConfig(...))`` writes one folder with the format's files (JSON Lines
or Parquet; train/validation split by item) and ``manifest.json``; ``preview`` gives the
counts an export would write. Formats live in ``curator.export.formats.FORMATS``.
"""
from curator.export.config import ExportConfig, ExportFilters, help_of
from curator.export.files import download_folder, zip_folder
from curator.export.formats import FORMATS
from curator.export.manifest import MANIFEST
from curator.export.run import export, preview
from curator.export.select import UNLABELED, Selection, nearness_bounds

__all__ = ["FORMATS", "MANIFEST", "UNLABELED", "ExportConfig", "ExportFilters", "Selection", "download_folder", "export",
           "help_of", "nearness_bounds", "preview", "zip_folder"]
