"""Feeds that change over time, for tests that run workers over several poll cycles.

`NewsWorld` is a set of sources whose Atom feeds move on phase by phase the way wires
do: each phase brings new entries, edits one entry of the previous phase (with a new
`<updated>` date) and carries a copy of another source's story from the previous
phase, and entries older than the previous phase fall out of the feed. Everything is
a function of the seed, so two runs over the same world see the same bytes.

Copies always reach a source one phase after the original, so which entry founds a
story never depends on which of two workers happened to commit first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from tests.conftest import TOPICS_TOML, write_config

NEW_PER_PHASE = 3
# Every source polled again one second after its last poll: cycles follow each other.
FAST_POLLING = 'default_interval = "1s"\nmax_interval = "1s"'


@dataclass(frozen=True)
class Entry:
    guid: str
    title: str
    summary: str
    published: datetime
    updated: datetime
    phase: int


class NewsWorld:
    def __init__(self, sources: list[str], seed: int, start: datetime | None = None):
        self.sources = sources
        self.rng = random.Random(seed)
        self.start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        self.phase = 0
        self.entries: dict[str, list[Entry]] = {name: [] for name in sources}
        self.served: set[tuple[str, str]] = set()
        self._add_phase()

    def advance(self) -> None:
        self.phase += 1
        self._add_phase()

    def feed(self, source: str) -> bytes:
        """The source's Atom document now: the entries of this phase and the last."""
        current = [e for e in self.entries[source] if e.phase >= self.phase - 1]
        body = "".join(
            f"<entry><id>{escape(e.guid)}</id><title>{escape(e.title)}</title>"
            f'<link href="https://{_host(source)}/news/{e.guid.rsplit(":", 1)[-1]}"/>'
            f"<published>{e.published.isoformat()}</published>"
            f"<updated>{e.updated.isoformat()}</updated>"
            f"<summary>{escape(e.summary)}</summary></entry>\n"
            for e in sorted(current, key=lambda e: e.published, reverse=True)
        )
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(source)}</title>'
                f"<id>urn:test:{escape(source)}</id><updated>{self.start.isoformat()}</updated>\n"
                f"{body}</feed>\n").encode()

    def _add_phase(self) -> None:
        k = self.phase
        previous = {name: [e for e in self.entries[name] if e.phase == k - 1]
                    for name in self.sources}
        for index, name in enumerate(self.sources):
            entries = self.entries[name]
            for j in range(NEW_PER_PHASE):
                published = self.start + timedelta(hours=2 * k, minutes=index, seconds=5 * j)
                on_topic = (index + j + k) % 3 == 0
                title = self._words(7).capitalize() + (" CAR-T" if on_topic else "")
                summary = self._words(30) + (" lupus" if on_topic else "")
                entries.append(Entry(f"urn:news:{_slug(name)}-{k}-{j}", title, summary,
                                     published, published, k))
            if previous[name]:  # edit the first entry of the last phase
                edited = previous[name][0]
                entries[entries.index(edited)] = replace(
                    edited, summary=f"{edited.summary} Update {k}.",
                    updated=edited.published + timedelta(hours=k))
                other = self.sources[(index + 1) % len(self.sources)]
                original = previous[other][1]  # never the edited one
                entries.append(replace(original, guid=f"urn:news:{_slug(name)}-copy-{k}",
                                       published=original.published + timedelta(minutes=30),
                                       updated=original.published + timedelta(minutes=30),
                                       phase=k))
            self.served |= {(name, e.guid) for e in entries if e.phase >= k - 1}

    def _words(self, count: int) -> str:
        return " ".join(
            "".join(self.rng.choice("bdfgklmnprstvz") + self.rng.choice("aeiou")
                    for _ in range(self.rng.randint(2, 4)))
            for _ in range(count))


def _slug(source: str) -> str:
    return source.lower().replace(" ", "")


def _host(source: str) -> str:
    return _slug(source) + ".example"


def everything_topic(sources: list[str]) -> str:
    """A topic that takes every item of `sources`, all on one feed page."""
    names = ", ".join(f'"{name}"' for name in sources)
    return (f'\n[[topics]]\nslug = "everything"\ntitle = "Everything"\n'
            f"trusted_sources = [{names}]\nmax_entries = 1000\n")


def world_config(path: Path, feeds: dict[str, str], db: Path) -> Path:
    """A config polling `feeds` every second, with the CAR-T topic and `everything`."""
    return write_config(path, feeds, extra=FAST_POLLING, db=db,
                        topics=TOPICS_TOML + everything_topic(list(feeds)))
