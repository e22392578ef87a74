"""Plain dataclasses that cross stage boundaries.

Each stage of the pipeline (fetch → parse → normalize → dedupe → match → store →
publish) takes and returns these types and nothing richer, so a stage can be tested
and reused without the others. They carry data only; behaviour lives in the stage
modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregator.core.dedupe import Fingerprint


class FetchStatus(StrEnum):
    """How one source's fetch ended."""

    OK = "ok"  # a body arrived and should be parsed
    NOT_MODIFIED = "not_modified"  # 304: nothing to parse
    ERROR = "error"  # nothing usable; see FetchResult.error
    GONE = "gone"  # 410: the source should be disabled


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What the fetcher needs to poll one source conditionally."""

    source: str
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class FetchResult:
    """The outcome of polling one source URL; never raises, errors are data."""

    source: str
    url: str  # the URL that was asked for
    status: FetchStatus
    final_url: str | None = None  # after redirects
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    bytes_read: int = 0
    permanent_redirect: str | None = None  # new URL after a 301/308 chain
    retry_after: float | None = None  # seconds, from Retry-After / Cache-Control


@dataclass(slots=True)
class RawEntry:
    """One feed entry as the parser saw it: HTML untouched, dates parsed."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    content_html: str | None
    published: datetime | None
    updated: datetime | None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    base_url: str | None = None  # for resolving relative links in the HTML


@dataclass(slots=True)
class ParsedFeed:
    """A parsed feed document. `problem` records a bozo feed that still gave entries."""

    title: str | None
    link: str | None
    entries: list[RawEntry]
    problem: str | None = None
    ttl_minutes: int | None = None
    alternate_feeds: list[str] = field(default_factory=list)  # from an HTML page
    hubs: list[str] = field(default_factory=list)  # WebSub hubs the feed names (rel="hub")
    self_url: str | None = None  # the feed's own URL (rel="self"): its WebSub topic


@dataclass(slots=True)
class Item:
    """A normalized entry of one source, ready for dedupe, matching and storage.

    `item_id` is derived from the source name and `key` only, so it is the same in
    every process and across restarts, and an edited entry keeps it.
    """

    item_id: str
    source: str
    key: str  # per-source identity: GUID, else canonical link, else content hash
    link: str | None  # the publisher's link minus tracking parameters
    canonical_link: str | None
    title: str  # plain text
    summary_html: str  # sanitized
    content_html: str  # sanitized
    title_text: str
    summary_text: str
    content_text: str
    author: str | None
    categories: list[str]
    published: datetime  # aware UTC; the first-seen time when the feed gave none
    updated: datetime | None
    content_hash: str  # changes when the visible content changes


LOCATIONS = ("title", "lead", "body", "boilerplate", "metadata")
"""Where in an item a hit is, strongest first (see aggregator.core.match.relevance)."""


@dataclass(frozen=True, slots=True)
class TermHit:
    """One term (or phrase) found in one field of an item.

    `location`, `snippet`, `weight` and `note` say how much the hit counts and why: a
    headline hit weighs more than one in the issuer's "About" paragraph, and a passing
    mention ("unlike CAR-T, ...") is discounted, with `note` naming the cue. `synonym_of`
    names the curator's term when the hit is a shipped synonym of it. Hits stored before
    these existed load with the defaults (see `hits_from_json`).
    """

    term: str
    field: str
    location: str = ""
    snippet: str = ""
    weight: float = 0.0
    note: str = ""
    synonym_of: str = ""
    # where in the item (passage number, start, end): only to tell nested hits apart
    span: tuple[int, int, int] | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class TopicMatch:
    """Whether an item belongs to a topic, and why; `score` is the summed weight of the
    hits that decided it (None when no score was computed, e.g. a trusted source)."""

    topic: str
    matched: bool
    hits: list[TermHit] = field(default_factory=list)
    reason: str = ""
    score: float | None = None


_HIT_KEYS = ("location", "snippet", "weight", "note", "synonym_of")


def hits_to_json(hits: Iterable[TermHit]) -> str:
    """Hits as stored: `[term, field]`, plus an object of the non-default extras."""
    rows: list[list[object]] = []
    for hit in hits:
        extra = {key: getattr(hit, key) for key in _HIT_KEYS if getattr(hit, key)}
        rows.append([hit.term, hit.field, extra] if extra else [hit.term, hit.field])
    return json.dumps(rows, ensure_ascii=False)


def hits_from_json(text: str) -> list[TermHit]:
    """Hits from their stored form; rows stored before hits had extras (`[term, field]`)
    load with the defaults."""
    hits = []
    for row in json.loads(text):
        extra = row[2] if len(row) > 2 else {}
        hits.append(TermHit(row[0], row[1], **{k: extra[k] for k in _HIT_KEYS if k in extra}))
    return hits


@dataclass(slots=True)
class StoryCopy:
    """One copy of a story as shown in an output entry."""

    item_id: str
    source: str
    link: str | None
    title: str
    published: datetime
    coverage: bool = False  # an article reporting the story, not a copy of the release


@dataclass(slots=True)
class FeedEntry:
    """One entry of an output feed: a story shown through its primary copy."""

    entry_id: str  # the story's primary copy's item id
    title: str
    link: str | None
    source: str
    published: datetime
    updated: datetime
    summary_html: str
    content_html: str
    author: str | None
    categories: list[str]  # the matched terms
    also_on: list[StoryCopy] = field(default_factory=list)
    hits: list[TermHit] = field(default_factory=list)  # distinct, strongest first
    score: float | None = None  # of `hits`; None for hits stored before scores


@dataclass(slots=True)
class FeedPage:
    """Everything a renderer needs for one page of one topic feed."""

    slug: str
    title: str
    description: str
    self_url: str  # absolute, for this format
    html_url: str  # absolute, the human page
    updated: datetime
    entries: list[FeedEntry]
    next_url: str | None = None  # older entries (RFC 5005 paging)
    prev_url: str | None = None
    first_url: str | None = None
    alternates: dict[str, str] = field(default_factory=dict)  # format -> absolute URL
    hub_url: str | None = None  # the WebSub hub this feed advertises


# -- what goes in and out of the store ---------------------------------------------


@dataclass(slots=True)
class SourceState:
    """What the store knows about one source: validators, schedule and health."""

    name: str
    url: str
    current_url: str
    enabled: bool
    disabled_reason: str | None
    etag: str | None
    last_modified: str | None
    last_attempt: float | None
    last_success: float | None
    last_status: str | None
    last_http_status: int | None
    consecutive_failures: int
    last_error: str | None
    last_problem: str | None
    redirected_from: str | None
    next_poll: float
    poll_interval: float | None
    fetch_count: int
    mean_fetch_seconds: float | None
    items_last_7_days: int = 0


#: The stored fingerprint of an item that was never fingerprinted (see ItemRecord).
UNFINGERPRINTED = ""


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """An item to store with its dedupe fingerprint and the topics it matched.

    `fingerprint` is None for an item outside the dedupe scope (no topic matched it and
    no topic's terms occur in it, see aggregator.core.process): it is stored as a story of
    its own, with no bands, and is fingerprinted and merged later only if a new or
    edited topic takes it in, or an edit of the item brings it into the scope.

    The fingerprint's stored form is encoded where the record is made (a document
    worker), not in the store's one writing thread, which sets a cold cycle's pace.
    """

    item: Item
    fingerprint: Fingerprint | None
    matches: dict[str, list[TermHit]]  # topic slug -> hits, matched topics only
    fingerprint_json: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encoded = UNFINGERPRINTED if self.fingerprint is None else self.fingerprint.to_json()
        object.__setattr__(self, "fingerprint_json", encoded)


@dataclass(frozen=True, slots=True)
class LateFingerprint:
    """The fingerprint of an item stored outside the dedupe scope, computed once an
    edited topic took it in (`SQLStore.join_stories`)."""

    item_id: str
    canonical_link: str | None
    published: float
    fingerprint: Fingerprint


@dataclass(slots=True)
class PollOutcome:
    """Everything one poll of one source changes, written in a single transaction."""

    source: str
    attempted_at: float
    status: str  # ok | not_modified | error | gone
    elapsed: float
    next_poll: float
    poll_interval: float | None = None
    http_status: int | None = None
    error: str | None = None
    problem: str | None = None  # a bozo feed that still gave entries
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None  # after a permanent redirect
    disable_reason: str | None = None
    items: list[ItemRecord] = field(default_factory=list)


@dataclass(slots=True)
class MergePolicy:
    """How the store decides that a new item is a copy of a stored story."""

    threshold: float = 0.5
    window_seconds: float = 7 * 86400
    source_preference: tuple[str, ...] = ()


@dataclass(slots=True)
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # new items that joined an existing story


@dataclass(slots=True)
class StoredItem:
    item_id: str
    source: str
    story_id: str
    link: str | None
    canonical_link: str | None
    title: str
    summary_html: str
    content_html: str
    title_text: str
    summary_text: str
    content_text: str
    author: str | None
    categories: list[str]
    published: float
    updated: float | None
    first_seen: float
    changed_at: float
    fingerprint: str  # JSON, or UNFINGERPRINTED

    @property
    def fingerprinted(self) -> bool:
        """False for an item stored outside the dedupe scope and not taken in since."""
        return self.fingerprint != UNFINGERPRINTED


@dataclass(slots=True)
class StoredStory:
    """A story as a topic feed shows it: its primary copy, the others and the hits."""

    story_id: str
    published: float
    updated: float
    primary: StoredItem
    copies: list[StoryCopy]
    hits: list[TermHit]


def utc_datetime(timestamp: float) -> datetime:
    """A stored POSIX timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, tz=UTC)


# -- what the store's decisions take and return (aggregator.core.dedupe.decide) -----------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored copy a new item may duplicate, as the store read it: one that shares a
    band or the canonical link with the item, within the dedupe window."""

    item_id: str
    story_id: str
    canonical_link: str | None
    published: float
    first_seen: float
    fingerprint: str  # JSON as stored (decoded only when its signature is close enough)


@dataclass(frozen=True, slots=True)
class StoryVerdict:
    """Which story a new item joins, and the evidence (for logs and `explain`)."""

    story_id: str | None  # the story to join; None: the item founds a story of its own
    item_id: str | None  # the stored copy that decided it
    similarity: float
    reason: str
    vetoes: tuple[str, ...] = ()  # "item_id: why not" for each copy compared and refused


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One copy of a story as choosing its primary copy and dates needs it."""

    item_id: str
    source: str
    published: float
    first_seen: float
    updated: float | None
    release: bool = False  # the issuer's own release (wire or newsroom), not coverage


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A row of the stories table: the copy a feed shows, and the story's dates."""

    story_id: str
    primary_item_id: str
    published: float
    updated: float


@dataclass(frozen=True, slots=True)
class MatchChanges:
    """How an item's stored topic matches change, and which topics' feeds change."""

    upsert: dict[str, str]  # topic -> hits (as stored) to insert or replace
    delete: frozenset[str]  # topics that no longer match the item
    bump: frozenset[str]  # topics whose feeds change: their versions go up


@dataclass(slots=True)
class Subscription:
    """A WebSub subscription of one source at its hub (aggregator.run.websub).

    `state`: pending (asked, awaiting the hub's verification of intent), active (pushes
    accepted until `expires_at`), denied (the hub refused; `error` says why) or
    unsubscribed."""

    sub_id: str  # the callback's last path segment: /websub/<sub_id>
    source: str
    topic: str
    hub: str
    secret: str  # HMAC key of the hub's X-Hub-Signature, never shown
    state: str
    updated_at: float
    lease_seconds: float | None = None
    expires_at: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CuratedStory:
    """A story the curator hid from or pinned in a topic (the page lists them to undo)."""

    topic: str
    story_id: str
    item_id: str  # the copy the action was taken on
    title: str
    action: str  # "hide" or "pin"
    decided_at: float


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One queued notification of a topic's new story (`aggregator.run.webhooks`)."""

    topic: str
    story_id: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class WebhookStatus:
    """What /readyz and the page show of a topic's webhook deliveries."""

    pending: int = 0
    delivered: int = 0
    failed: int = 0
    last_delivered: float | None = None
    last_error: str | None = None
