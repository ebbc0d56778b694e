"""What is kept: engine and sessions (engine), tables, record schema, locks, migrations."""
from curator.store.engine import Store, resolve_url

__all__ = ["Store", "resolve_url"]
