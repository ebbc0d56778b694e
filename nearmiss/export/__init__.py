"""Export curated negatives to training formats (TRL DPO/KTO/SFT, NAT, Likra, HF datasets).

``export(store, ExportConfig(...))`` writes one folder with the format's files (JSON Lines
or Parquet; train/validation split by item) and ``manifest.json``; ``preview`` gives the
counts an export would write. Formats live in ``nearmiss.export.formats.FORMATS``.
"""
from nearmiss.export.config import ExportConfig, ExportFilters
from nearmiss.export.files import download_folder, zip_folder
from nearmiss.export.formats import FORMATS
from nearmiss.export.manifest import MANIFEST
from nearmiss.export.run import export, export_record, export_summary, preview
from nearmiss.export.select import UNLABELED, Selection, nearness_bounds

__all__ = ["FORMATS", "MANIFEST", "UNLABELED", "ExportConfig", "ExportFilters", "Selection", "download_folder",
           "export", "export_record", "export_summary", "nearness_bounds", "preview", "zip_folder"]
