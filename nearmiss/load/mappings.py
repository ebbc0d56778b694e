"""Field mappings remembered per column signature: a file with the same columns as one
loaded before gets the mapping that was used for it."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nearmiss.load.sources.mcqa import FIELDS, FieldMap
from nearmiss.store import Store
from nearmiss.store.schema import stable_id
from nearmiss.store.tables import ColumnMapping, utcnow


def column_signature(columns: Iterable[str]) -> str:
    """The same for any file with these column names, whatever their order."""
    return stable_id("columns", *sorted(set(map(str, columns))))


def remembered_mapping(store: Store, columns: Iterable[str]) -> FieldMap | None:
    """The mapping last used for files with these columns, if any."""
    with store.session() as s:
        row = s.get(ColumnMapping, column_signature(columns))
        if row is None:
            return None
        fields: dict[str, Any] = {k: row.mapping.get(k) or ([] if k == "choices" else None) for k in FIELDS}
        return FieldMap(**fields)


def remember_mapping(store: Store, columns: Iterable[str], fm: FieldMap) -> None:
    """Keep ``fm`` for files with these columns (the latest wins)."""
    mapping = {k: getattr(fm, k) for k in FIELDS}
    with store.session() as s:
        row = s.get(ColumnMapping, column_signature(columns))
        if row is None:
            s.add(ColumnMapping(signature=column_signature(columns), mapping=mapping))
        else:
            row.mapping, row.updated_at = mapping, utcnow()
