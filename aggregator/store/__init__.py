"""Storage: `open_store(url)` picks the engine from the URL scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from aggregator.store.base import SQLStore
from aggregator.store.engine import StoreError

__all__ = ["SQLStore", "StoreError", "open_store", "sqlite_path"]


def sqlite_path(url: str) -> Path:
    """sqlite:///data/x.db → data/x.db (relative); sqlite:////srv/x.db → /srv/x.db."""
    path = unquote(urlsplit(url).path)
    if path.startswith("//"):
        return Path(path[1:])
    return Path(path.lstrip("/") or "aggregator.db")


def open_store(url: str, *, migrate: bool = True, read_only: bool = False) -> SQLStore:
    """Open (and by default migrate) the store named by `url`.

    `read_only` is for commands that only read: nothing is written, not even a
    migration, so they work on a store this user may not write to; its schema must
    then be the current one already.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from aggregator.store.sqlite import SQLiteStore

        store: SQLStore = SQLiteStore(sqlite_path(url), read_only=read_only)
    elif scheme in ("postgresql", "postgres"):
        from aggregator.store.postgres import PostgresStore

        store = PostgresStore(url)
    else:
        raise StoreError(f"unsupported storage URL scheme {scheme!r}")
    if read_only:
        store.check_schema()
    elif migrate:
        store.migrate()
    return store
