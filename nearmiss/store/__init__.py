"""What is kept: engine and sessions (engine), tables, record schema, locks, migrations."""
from nearmiss.store.engine import Store, resolve_url, store_name

__all__ = ["Store", "resolve_url", "store_name"]
