"""The session store: every conversation, keyed `{channel}:{agent}:{user}:{chat}`, in SQLite.

`SessionStore` (`protocol`) is the interface the rest of the kernel uses, so a PostgreSQL
backend can replace `SqliteStore` (`sqlite`) when a user outgrows one machine. The schema and
its migrations are `schema`, the row types `rows`, recent histories are cached by
`history_cache`, WAL checkpoints run in `checkpoint`; `export.export_markdown` and
`key_migration.migrate_keys` are functions over a store.
"""

from openclaw.store.export import export_markdown
from openclaw.store.key_migration import Transactional, migrate_keys
from openclaw.store.protocol import ProgressCallback, SessionStore
from openclaw.store.rows import Inbound, SessionInfo, StoreStats
from openclaw.store.schema import MIGRATIONS
from openclaw.store.sqlite import PRUNE_BATCH, SqliteStore

__all__ = [
    "MIGRATIONS",
    "PRUNE_BATCH",
    "Inbound",
    "ProgressCallback",
    "SessionInfo",
    "SessionStore",
    "SqliteStore",
    "StoreStats",
    "Transactional",
    "export_markdown",
    "migrate_keys",
]
