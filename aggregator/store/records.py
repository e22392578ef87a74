"""Dataclasses that go in and out of the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.dedupe import Fingerprint, fingerprint, lead_of
from aggregator.models import Item, StoryCopy, TermHit


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
    no topic's terms occur in it, see aggregator.documents): it is stored as a story of
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

    def dedupe_fingerprint(self) -> Fingerprint:
        """The stored fingerprint; for an item stored outside the dedupe scope, the one
        it gets once a topic takes it in (made from the same stored text)."""
        if self.fingerprinted:
            return Fingerprint.from_json(self.fingerprint)
        return fingerprint(self.title_text, lead_of(self.summary_text, self.content_text))


@dataclass(slots=True)
class StoredStory:
    """A story as a topic feed shows it: its primary copy, the others and the hits."""

    story_id: str
    published: float
    updated: float
    primary: StoredItem
    copies: list[StoryCopy]
    hits: list[TermHit]
