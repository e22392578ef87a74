"""Writing polls: new and edited items with their story assignment and topic matches,
and the polled sources' state, one transaction per batch of source polls (see
`aggregator.store.base`)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from aggregator.core.dedupe.decide import story_row
from aggregator.models import (
    UNFINGERPRINTED,
    IngestReport,
    Item,
    ItemRecord,
    LateFingerprint,
    MergePolicy,
    PollOutcome,
    StoryMember,
)
from aggregator.store.engine import Cursor, chunks, marks, retried
from aggregator.store.sources import Sources
from aggregator.store.stories import Stories


class StoredVersion(NamedTuple):
    """What ingesting needs to know about an item already stored."""

    content_hash: str
    story_id: str
    updated: float | None
    fingerprinted: bool  # False: outside the dedupe scope when stored (see ItemRecord)


def _item_text(item: Item) -> tuple[Any, ...]:
    """The columns an edit of an item may change, in the order the SQL lists them."""
    return (
        item.link,
        item.canonical_link,
        item.title,
        item.summary_html,
        item.content_html,
        item.title_text,
        item.summary_text,
        item.content_text,
        item.author,
        json.dumps(item.categories, ensure_ascii=False),
    )


def _fingerprinted(stored: StoredVersion | None) -> bool:
    return stored is not None and stored.fingerprinted


class Ingest(Stories, Sources):
    """record_polls and the item rows it writes."""

    def record_poll(self, outcome: PollOutcome, policy: MergePolicy) -> IngestReport:
        """Write one poll of one source in one transaction; see the module docstring."""
        return self.record_polls([outcome], policy)[0]

    @retried
    def record_polls(
        self, outcomes: Sequence[PollOutcome], policy: MergePolicy
    ) -> list[IngestReport]:
        """Write several sources' polls in one transaction: a large cycle commits once
        per batch instead of once per source, and each poll is still all or nothing.

        Locks are taken in one order by every writer, so concurrent batches queue
        rather than deadlock: first the bands of the items not stored yet (all at once,
        sorted; a copy of a story another worker is storing right now is then seen
        once it commits), then the rows other writers share, stories and topic
        versions, each sorted, and last the polled sources' own rows.
        """
        records = [record for outcome in outcomes for record in outcome.items]
        with self.transaction() as cur:
            stored = self._stored_versions(cur, [r.item.item_id for r in records])
            self._lock_bands(
                cur,
                [
                    (r.fingerprint, r.item.canonical_link)
                    for r in records
                    if r.fingerprint is not None and not _fingerprinted(stored.get(r.item.item_id))
                ],
            )
            reports = [IngestReport() for _ in outcomes]
            touched: set[str] = set()  # existing stories that gained or changed a copy
            topics: set[str] = set()  # topics whose feeds change
            for outcome, report in zip(outcomes, reports, strict=True):
                for record in outcome.items:
                    topics |= self._ingest_item(
                        cur,
                        record,
                        stored.get(record.item.item_id),
                        outcome.attempted_at,
                        policy,
                        report,
                        touched,
                    )
            if touched:
                topics |= self._topics_of_stories(cur, touched)
                self._lock_stories(cur, sorted(touched))
                for story_id in sorted(touched):
                    self._refresh_story(cur, story_id, policy)
            self._bump_topics(cur, topics, max((o.attempted_at for o in outcomes), default=0.0))
            for outcome, report in sorted(
                zip(outcomes, reports, strict=True), key=lambda pair: pair[0].source
            ):
                self._write_source(cur, outcome, report)
            return reports

    @retried
    def item_hashes(self, source: str, keys: Collection[str] | None = None) -> dict[str, str]:
        """Item key -> content hash of the items stored for `source` (only those with
        `keys`, when given): the entries a new poll of it need not fingerprint, match or
        write again."""
        with self.transaction(write=False) as cur:
            if keys is None:
                cur.execute("SELECT item_key, content_hash FROM items WHERE source = ?", (source,))
                return dict(cur.fetchall())
            found: dict[str, str] = {}
            for chunk in chunks(sorted(keys)):
                cur.execute(
                    "SELECT item_key, content_hash FROM items WHERE source = ? "
                    f"AND item_key IN ({marks(chunk)})",
                    (source, *chunk),
                )
                found.update(cur.fetchall())
            return found

    def _stored_versions(self, cur: Cursor, item_ids: Sequence[str]) -> dict[str, StoredVersion]:
        found: dict[str, StoredVersion] = {}
        for chunk in chunks(item_ids):
            cur.execute(
                "SELECT item_id, content_hash, story_id, updated, fingerprint <> ? FROM items "
                f"WHERE item_id IN ({marks(chunk)})",
                (UNFINGERPRINTED, *chunk),
            )
            for item_id, content_hash, story_id, updated, fingerprinted in cur.fetchall():
                found[item_id] = StoredVersion(content_hash, story_id, updated, bool(fingerprinted))
        return found

    def _ingest_item(
        self,
        cur: Cursor,
        record: ItemRecord,
        existing: StoredVersion | None,
        now: float,
        policy: MergePolicy,
        report: IngestReport,
        touched: set[str],
    ) -> set[str]:
        """Store one item (new, edited or unchanged); return the topics whose matches
        of it changed, and add an existing story it joined or edited to `touched`."""
        item = record.item
        story_id: str | None = None
        if existing is None:
            story_id = self._insert_item(cur, record, now, policy)
            if story_id is None:
                # Another poll of this source (a worker whose lease had lapsed) stored
                # the item after we looked: it is theirs, in the story they chose.
                existing = self._stored_versions(cur, [item.item_id])[item.item_id]
            else:
                report.new += 1
                report.merged += story_id != item.item_id
        if existing is not None:
            if existing.content_hash == item.content_hash:
                report.unchanged += 1
                return set()
            self._update_item(cur, item, existing, now)
            report.updated += 1
            story_id = existing.story_id
            if record.fingerprint is not None and not existing.fingerprinted:
                # An edit brought it into the dedupe scope: it may be a copy after all.
                joined = self._join_story(
                    cur,
                    LateFingerprint(
                        item.item_id,
                        item.canonical_link,
                        item.published.timestamp(),
                        record.fingerprint,
                    ),
                    policy,
                )
                story_id = joined or story_id  # it is there: this transaction updated it
        assert story_id is not None
        if story_id != item.item_id or existing is not None:
            touched.add(story_id)  # a story it founded just now was written complete
        return self._write_matches(
            cur, item.item_id, story_id, record.matches, now, new=existing is None
        )

    def _insert_item(
        self, cur: Cursor, record: ItemRecord, now: float, policy: MergePolicy
    ) -> str | None:
        """Store a new item in the story it belongs to; return that story's id, or
        None when a concurrent writer stored the item first (nothing is written then)."""
        item = record.item
        published = item.published.timestamp()
        story_id = item.item_id
        if record.fingerprint is not None:
            story_id = self._assign_story(
                cur, item.item_id, item.canonical_link, record.fingerprint, published, policy
            )
        cur.execute(
            "INSERT INTO items (item_id, source, item_key, story_id, link, canonical_link, "
            "title, summary_html, content_html, title_text, summary_text, content_text, "
            "author, categories, published, updated, first_seen, changed_at, content_hash, "
            "fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source, item_key) DO NOTHING RETURNING item_id",
            (
                item.item_id,
                item.source,
                item.key,
                story_id,
                *_item_text(item),
                published,
                item.updated.timestamp() if item.updated else None,
                now,
                now,
                item.content_hash,
                record.fingerprint_json,
            ),
        )
        if cur.fetchone() is None:
            return None
        if record.fingerprint is not None:
            self._insert_bands(cur, item.item_id, published, record.fingerprint)
            self._count_terms(cur, record.fingerprint)
        if story_id == item.item_id:  # a story of its own, as `_refresh_story` makes it
            updated = item.updated.timestamp() if item.updated else None
            self._insert_story(
                cur,
                story_row(
                    story_id,
                    [StoryMember(item.item_id, item.source, published, now, updated)],
                    policy.source_preference,
                ),
            )
        return story_id

    def _update_item(self, cur: Cursor, item: Item, existing: StoredVersion, now: float) -> None:
        """Edit a stored item in place.

        Its `updated` date is the entry's own when the publisher moved it forward, else
        the time the edit was seen, so re-reading the same feed gives the same dates.
        """
        updated = item.updated.timestamp() if item.updated else None
        if updated is None or (existing.updated is not None and updated <= existing.updated):
            updated = now
        cur.execute(
            "UPDATE items SET link = ?, canonical_link = ?, title = ?, summary_html = ?, "
            "content_html = ?, title_text = ?, summary_text = ?, content_text = ?, "
            "author = ?, categories = ?, updated = ?, changed_at = ?, content_hash = ? "
            "WHERE item_id = ?",
            (*_item_text(item), updated, now, item.content_hash, item.item_id),
        )
