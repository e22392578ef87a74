"""Adding sources to the config file the curator keeps, without disturbing the rest of it.

The file is the curator's: its comments, order and spacing stay byte for byte as written.
New sources are appended as `[[sources]]` tables at its end (TOML lets an array of tables
continue after other tables), rendered by tomlkit so every name and URL is quoted right;
a file that keeps its sources as an inline array (`sources = [...]`) gets them in that
array instead, through tomlkit's document model. The result is validated by the loader
every command uses, from a temporary file beside the config, and only then renamed over
it: a reader (a `--watch` reload, a SIGHUP) sees the old file or the new one, never half
of one and never a broken one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array

from aggregator.config import ConfigError, load_config

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to add. `name_chosen`: the curator typed the name, so a clash refuses the
    source; a name taken from the feed's title is numbered instead ("Title 2")."""

    name: str
    url: str
    tags: tuple[str, ...] = ()
    name_chosen: bool = True


@dataclass(frozen=True, slots=True)
class Refusal:
    source: NewSource
    reason: str


@dataclass(slots=True)
class AddOutcome:
    """What `add_sources` wrote (`added`, with their final names) and what it did not."""

    added: list[NewSource] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    created: bool = False  # the config file did not exist before


def url_key(url: str) -> str:
    """`url` as two spellings of one feed compare: scheme and host lowercased, the
    default port and a trailing slash dropped (the query string is kept: it can name
    a different feed)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return url.strip()
    scheme = parts.scheme.lower()
    host = parts.hostname
    if parts.port and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), parts.query, ""))


def add_sources(path: Path, sources: Sequence[NewSource], *, note: str) -> AddOutcome:
    """Append `sources` to the config at `path` (created if absent), refusing each one
    whose URL, or chosen name, is already a source; `note` is written as a comment above
    the new tables. Raises ConfigError, leaving the file untouched, when the file cannot
    be read or the result would not load."""
    target = path.resolve()  # a symlinked config: replace the file it points at
    with _editing(target.parent):
        return _add_locked(path, target, sources, note)


@contextlib.contextmanager
def _editing(folder: Path) -> Iterator[None]:
    """Hold the config folder's lock, so that two commands adding at once (two imports
    from a script) both land: each reads the file the other wrote. A lock on the
    folder, not the file, because the file is replaced, and leaves nothing behind."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError as error:
        raise ConfigError(folder, [f"cannot open the config's folder: {error.strerror}"]) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _add_locked(path: Path, target: Path, sources: Sequence[NewSource], note: str) -> AddOutcome:
    created = not target.exists()
    try:
        text = "" if created else target.read_text(encoding="utf-8")
        document = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError, TOMLKitError) as error:
        raise ConfigError(path, [f"cannot read the config to add to it: {error}"]) from None
    existing = _existing_sources(document)
    outcome = AddOutcome(created=created)
    by_url = {url_key(str(s.get("url", ""))): str(s.get("name")) for s in existing}
    names = {str(s.get("name")) for s in existing}
    for source in sources:
        if (owner := by_url.get(url_key(source.url))) is not None:
            outcome.refused.append(Refusal(source, f"already a source: {owner!r}"))
            continue
        if source.name in names and source.name_chosen:
            outcome.refused.append(
                Refusal(
                    source,
                    f"the name {source.name!r} is taken by "
                    "another source; give another with --name",
                )
            )
            continue
        source = NewSource(_free_name(source.name, names), source.url, source.tags)
        by_url[url_key(source.url)] = source.name
        names.add(source.name)
        outcome.added.append(source)
    if outcome.added:
        try:
            _write_valid(path, target, _with_sources(text, document, outcome.added, note))
        except OSError as error:
            raise ConfigError(path, [f"not written: {error.strerror or error}"]) from None
    return outcome


def _existing_sources(document: tomlkit.TOMLDocument) -> list[dict[str, Any]]:
    value = document.unwrap().get("sources", [])
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or the first of "name 2", "name 3", ... that no source has."""
    number, free = 1, name
    while free in taken:
        number += 1
        free = f"{name} {number}"
    return free


def _table(source: NewSource) -> dict[str, Any]:
    table: dict[str, Any] = {"name": source.name, "url": source.url}
    if source.tags:
        table["tags"] = list(source.tags)
    return table


def _with_sources(
    text: str, document: tomlkit.TOMLDocument, sources: list[NewSource], note: str
) -> str:
    """The config text with `sources` added, everything already in it kept as it is."""
    current = document.get("sources")
    if current is not None and not isinstance(current, AoT):
        # an inline array of tables (or something invalid, which validation reports)
        if isinstance(current, Array):
            for source in sources:
                inline = tomlkit.inline_table()
                inline.update(_table(source))
                current.append(inline)
        return document.as_string()
    rendered = tomlkit.dumps({"sources": [_table(source) for source in sources]})
    head = text.rstrip("\n")
    return (head + "\n\n" if head else "") + f"# {note}\n" + rendered


def _write_valid(path: Path, target: Path, text: str) -> None:
    """Write `text` over `target` atomically, if the config loader accepts it."""
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            load_config(temporary)
        except ConfigError as error:
            refusal = "not written: with the new source(s) the config would not load"
            raise ConfigError(path, [refusal, *error.problems]) from None
        os.chmod(temporary, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a crash right after keeps the new file)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
