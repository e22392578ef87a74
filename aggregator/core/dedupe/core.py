"""Fingerprints, merge decisions and the reference band index.

A fingerprint is computed once per item and stored; deciding whether a new item is a
copy of a stored story then needs only fingerprints, never the stored texts.

* ``signature``: a 128-value MinHash of the 3-word shingles of the cleaned title and
  lead, so the Jaccard similarity of two texts can be estimated from two tuples.
* ``bands``: LSH band keys. Two items whose Jaccard is high share at least one band
  with high probability, so the store looks up candidates by band equality (an index
  lookup) instead of comparing against the whole archive. Two extra keys catch copies
  whose shingle sets differ mainly in length (a 250-character feed teaser against the
  full release): the exact cleaned title, and the first words of the cleaned lead.
* ``anchors``: facts that separate templated look-alikes (see :mod:`.anchors`).

"Prefer a missed merge to a wrong one": similarity only makes a pair *eligible*; any
anchor conflict vetoes it. A missed merge shows a story twice; a wrong merge hides a
story, which is worse for a curator.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from .anchors import AnchorSet, conflicts, extract_anchors
from .event import EventFeatures, event_features
from .minhash import MinHasher
from .text import TEXT_VERSION, clean_lead, clean_title, tokens

if TYPE_CHECKING:
    from aggregator.models import Item, StoredItem

__all__ = [
    "BANDS",
    "DEFAULT_CONTAINMENT",
    "DEFAULT_THRESHOLD",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SCHEME",
    "BandIndex",
    "Fingerprint",
    "MergeVerdict",
    "best_match",
    "compare",
    "fingerprint",
    "fingerprint_item",
    "lead_of",
    "stored_fingerprint",
]

#: MinHash size. 128 values estimate a Jaccard of 0.5 within about +-0.045 (1 sigma).
NUM_PERM = 128
#: Fixed seed: the permutations, hence every signature, are the same in every process.
SEED = 20250210
#: 32 bands of 4 rows: a pair with Jaccard 0.5 shares a band with probability 0.87,
#: 0.6 -> 0.99, 0.3 -> 0.23, 0.1 -> 0.003. The S-curve's midpoint (1/32)^(1/4) ~ 0.42
#: sits below the default threshold so eligible pairs are rarely missed, while
#: unrelated releases (Jaccard < 0.05) almost never collide.
BANDS = 32
ROWS = 4
SHINGLE = 3
#: Words of the cleaned lead hashed into the "p:" key (a shared opening sentence).
PREFIX_WORDS = 12
#: Minimum title words for the "t:" key; short titles ("Q2 Results") are too generic.
TITLE_KEY_WORDS = 5
#: Merge when the estimated Jaccard reaches this (and anchors agree).
DEFAULT_THRESHOLD = 0.5
#: ... or when the shorter text is this much contained in the longer one (a teaser).
DEFAULT_CONTAINMENT = 0.85
#: The containment rule still needs this much Jaccard: a 20-word teaser made of
#: company boilerplate is "contained" in every release of that company.
CONTAINMENT_FLOOR = 0.2
#: Shingles a text needs before it can merge at all (identical short titles such as
#: "Corporate Presentation" are not evidence of the same story).
MIN_SHINGLES = 10
#: Shingles the shorter text needs for the containment rule.
MIN_CONTAINED_SHINGLES = 20

#: Names it "kept" in the name keys (see `fingerprint`): the first names of the headline
#: and lead, which every report of one event shares whatever its wording.
NAME_KEYS = 8
#: The version of the event features and anchor vocabulary (:mod:`.event`).
EVENT_VERSION = 1

#: Names everything that changes signatures, bands or event features ("a32":
#: datasketch's affine32 MinHash scheme, datasketch >= 2.0, see :mod:`.minhash`).
#: Stored fingerprints of another scheme never merge; `aggregator redecide` (run at
#: start when needed) recomputes them.
SCHEME = (f"mh{NUM_PERM}a32s{SEED}b{BANDS}r{ROWS}w{SHINGLE}t{TEXT_VERSION}"
          f"e{EVENT_VERSION}")

_MINHASHER = MinHasher(NUM_PERM, SEED)
#: How Fingerprint.to_json writes the signature (compact separators).
_SIG_KEY = '"sig":"'


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the store keeps per item to find and judge its copies."""

    signature: tuple[int, ...]
    bands: tuple[str, ...]
    anchors: AnchorSet
    shingles: int = 0  # size of the shingle set, for the containment estimate
    scheme: str = SCHEME  # fingerprints of different schemes are never compared
    event: EventFeatures = EventFeatures({}, ())  # what it reports (see .event)

    def to_json(self) -> str:
        """Compact JSON for the items table (~1 KB)."""
        packed = np.asarray(self.signature, dtype="<u4").tobytes()
        return json.dumps(
            {
                "v": self.scheme,
                "sig": base64.b64encode(packed).decode("ascii"),
                "bands": list(self.bands),
                "anchors": [[kind, list(title), list(all_)] for kind, title, all_ in self.anchors],
                "n": self.shingles,
                "ev": self.event.to_dict(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @staticmethod
    def packed_signature_of(stored_json: str) -> bytes | None:
        """The little-endian signature bytes of :meth:`to_json` output, read without
        decoding the rest (anchors, bands); None when `stored_json` is not of that shape."""
        start = stored_json.find(_SIG_KEY)
        if start < 0:
            return None
        start += len(_SIG_KEY)
        try:
            return base64.b64decode(stored_json[start:stored_json.find('"', start)],
                                    validate=True)
        except ValueError:
            return None

    @classmethod
    def from_json(cls, s: str) -> Fingerprint:
        """Inverse of :meth:`to_json`; raises ValueError on malformed input."""
        try:
            data = json.loads(s)
            signature = np.frombuffer(base64.b64decode(data["sig"], validate=True), dtype="<u4")
            if not len(signature):
                raise ValueError("empty signature")
            return cls(
                signature=tuple(signature.tolist()),
                bands=tuple(map(str, data["bands"])),
                anchors=tuple(
                    (str(kind), tuple(map(str, title)), tuple(map(str, every)))
                    for kind, title, every in data["anchors"]
                ),
                shingles=int(data["n"]),
                scheme=str(data["v"]),
                event=EventFeatures.from_dict(data.get("ev") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            raise ValueError(f"not a dedupe fingerprint: {exc}") from exc

    def anchor_map(self) -> dict[str, tuple[str, ...]]:
        """Anchor values per kind (title and lead together), for display."""
        return {kind: every for kind, _title, every in self.anchors}


@dataclass(frozen=True, slots=True)
class MergeVerdict:
    """Whether two fingerprints are copies of one story, and why (for `explain`)."""

    same: bool
    similarity: float  # estimated Jaccard of the shingle sets
    reason: str


def _shingles(words: list[str]) -> set[bytes]:
    if not words:
        return set()
    if len(words) < SHINGLE:
        return {" ".join(words).encode("utf-8")}
    return {
        " ".join(words[i : i + SHINGLE]).encode("utf-8")
        for i in range(len(words) - SHINGLE + 1)
    }


def _key(prefix: str, payload: bytes) -> str:
    return f"{prefix}:{hashlib.blake2b(payload, digest_size=6).hexdigest()}"


def fingerprint(title: str, lead: str) -> Fingerprint:
    """Fingerprint an item from its plain-text title and lead (summary or content).

    The lead may be the whole body: it is cleaned (dateline, boilerplate) and cut to
    :data:`~aggregator.core.dedupe.text.LEAD_CHARS` here, so every caller cuts the same way.
    """
    title_clean = clean_title(title or "")
    lead_clean = clean_lead(lead or "")
    title_words = tokens(title_clean)
    lead_words = tokens(lead_clean)
    shingles = _shingles(title_words) | _shingles(lead_words)

    bands: list[str] = []
    if shingles:
        values = _MINHASHER.signature(shingles)  # min() is order-independent
        signature = tuple(values.tolist())
        for band in range(BANDS):
            rows = values[band * ROWS : (band + 1) * ROWS].tobytes()
            bands.append(_key(str(band), rows))
    else:
        signature = tuple([0xFFFFFFFF] * NUM_PERM)
    if len(title_words) >= TITLE_KEY_WORDS:
        bands.append(_key("t", " ".join(title_words).encode("utf-8")))
    if len(lead_words) >= PREFIX_WORDS:
        bands.append(_key("p", " ".join(lead_words[:PREFIX_WORDS]).encode("utf-8")))
    event = event_features(title or "", lead or "")
    bands += [_key("n", name.encode("utf-8")) for name in _name_keys(event)]
    return Fingerprint(
        signature=signature,
        bands=tuple(bands),
        anchors=extract_anchors(title_clean, lead_clean),
        shingles=len(shingles),
        event=event,
    )


def is_name_key(band: str) -> bool:
    """True for a name key (see `_name_keys`), False for a MinHash, title or lead band."""
    return band.startswith("n:")


def _name_keys(event: EventFeatures) -> list[str]:
    """The names a report of the same event most surely repeats: the headline's subject,
    then the names of the headline and lead opening. They are index keys, so a rewrite
    that shares no shingle with the release is still found among the candidates."""
    names = [event.subject] if event.subject else []
    names += [name for name in event.entities if name in event.head]
    return list(dict.fromkeys(names))[:NAME_KEYS]


def lead_of(summary_text: str, content_text: str) -> str:
    """The text to fingerprint: the fuller of summary and content. Feeds that give
    both usually put a teaser in the summary and the release in the content."""
    summary_text = summary_text or ""
    content_text = content_text or ""
    return content_text if len(content_text) >= len(summary_text) else summary_text


def fingerprint_item(item: Item) -> Fingerprint:
    """Fingerprint a normalized :class:`~aggregator.models.Item`."""
    return fingerprint(item.title_text, lead_of(item.summary_text, item.content_text))


def stored_fingerprint(stored: StoredItem) -> Fingerprint:
    """A stored item's fingerprint; for an item stored outside the dedupe scope, the one
    it gets once a topic takes it in (made from the same stored text)."""
    if stored.fingerprinted:
        return Fingerprint.from_json(stored.fingerprint)
    return fingerprint(stored.title_text, lead_of(stored.summary_text, stored.content_text))


def _jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Fraction of equal MinHash positions: the unbiased Jaccard estimate. Plain Python
    beats numpy here (no array conversion for 128 values), and map() a generator 3x."""
    if len(a) != len(b):
        raise ValueError(f"signatures of {len(a)} and {len(b)} values")
    return sum(map(operator.eq, a, b)) / len(a)


def compare(
    a: Fingerprint,
    b: Fingerprint,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    containment: float = DEFAULT_CONTAINMENT,
    containment_floor: float = CONTAINMENT_FLOOR,
    min_shingles: int = MIN_SHINGLES,
    min_contained_shingles: int = MIN_CONTAINED_SHINGLES,
) -> MergeVerdict:
    """Decide whether two fingerprints are copies of the same story.

    Eligible when the estimated Jaccard reaches `threshold`, or when the shorter text
    is at least `containment` contained in the longer (a feed teaser against the full
    release) with Jaccard at least `containment_floor`. An eligible pair still stays
    apart if any anchor conflicts (different quarter, disease, amount, company...).
    Set `containment` above 1 to disable the containment rule.
    """
    if a.scheme != b.scheme or len(a.signature) != len(b.signature):
        return MergeVerdict(
            False, 0.0, f"fingerprint schemes differ ({a.scheme} vs {b.scheme}): recompute"
        )
    smaller = min(a.shingles, b.shingles)
    if smaller < min_shingles:
        return MergeVerdict(
            False, 0.0, f"too little text to compare ({smaller} shingles < {min_shingles})"
        )
    similarity = _jaccard(a.signature, b.signature)
    contained = min(1.0, similarity * (a.shingles + b.shingles) / (1 + similarity) / smaller)
    if similarity >= threshold:
        basis = f"similar {similarity:.2f} ≥ {threshold:.2f}"
    elif (
        contained >= containment
        and similarity >= containment_floor
        and smaller >= min_contained_shingles
    ):
        basis = (
            f"similar {similarity:.2f}, shorter text {contained:.0%} contained "
            f"≥ {containment:.0%}"
        )
    else:
        return MergeVerdict(False, similarity, f"similar {similarity:.2f} < {threshold:.2f}")
    found = conflicts(a.anchors, b.anchors)
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        return MergeVerdict(False, similarity, f"{basis} but {found[0].describe()}{more}")
    return MergeVerdict(True, similarity, f"{basis}, anchors agree")


class MergeProbe:
    """Rules stored candidates out from their signature alone, before decoding them.

    The store reads every band candidate's fingerprint as JSON; most candidates share a
    band by chance and are far from similar. :func:`compare` never merges a pair whose
    estimated Jaccard is below both `threshold` and the containment floor, so such a
    candidate is skipped after reading only the signature from the JSON (~10x cheaper
    than :meth:`Fingerprint.from_json`). Unsure (JSON of another shape) means "may".
    """

    __slots__ = ("_signature", "_threshold")

    def __init__(self, fingerprint: Fingerprint, threshold: float = DEFAULT_THRESHOLD):
        self._signature = np.asarray(fingerprint.signature, dtype="<u4")
        self._threshold = threshold

    def may_merge(self, stored_json: str) -> bool:
        packed = Fingerprint.packed_signature_of(stored_json)
        if packed is None or len(packed) != self._signature.nbytes:
            return True
        equal = int(np.count_nonzero(np.frombuffer(packed, dtype="<u4") == self._signature))
        similarity = equal / len(self._signature)  # as _jaccard computes it
        return similarity >= self._threshold or similarity >= CONTAINMENT_FLOOR


def best_match(
    fp: Fingerprint,
    candidates: Iterable[tuple[str, Fingerprint]],
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[str, MergeVerdict] | None:
    """The candidate story that `fp` merges into (highest similarity), or None."""
    best: tuple[str, MergeVerdict] | None = None
    for story_id, other in candidates:
        verdict = compare(fp, other, threshold)
        if verdict.same and (best is None or verdict.similarity > best[1].similarity):
            best = (story_id, verdict)
    return best


class BandIndex:
    """In-memory reference of the store's ``story_bands`` table.

    One posting list per band key, kept in publication order. A lookup touches only
    the posting lists of the query's own ~34 keys and, by bisection, only their
    entries inside the time window, so its cost depends on how many recent items
    collide with the query, not on how many are stored. The DB mirrors this with rows
    ``(band, item_id, story_id, published)`` and an index on ``(band, published)``.
    """

    __slots__ = ("_entries", "_postings")

    def __init__(self) -> None:
        self._entries: list[tuple[str, Fingerprint, datetime]] = []
        self._postings: dict[str, list[tuple[float, int]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, story_id: str, fingerprint: Fingerprint, published: datetime) -> None:
        """Index one stored copy of `story_id` (a story may have several)."""
        entry = len(self._entries)
        self._entries.append((story_id, fingerprint, published))
        key = (published.timestamp(), entry)
        for band in dict.fromkeys(fingerprint.bands):
            postings = self._postings.setdefault(band, [])
            if not postings or postings[-1] <= key:
                postings.append(key)  # the usual case: items arrive in time order
            else:
                bisect.insort(postings, key)

    def candidates(
        self, fingerprint: Fingerprint, since: datetime
    ) -> list[tuple[str, Fingerprint]]:
        """Stored copies published at or after `since` sharing at least one band,
        most shared bands first (the likeliest duplicates are compared first)."""
        start = (since.timestamp(), -1)
        shared: dict[int, int] = {}
        for band in dict.fromkeys(fingerprint.bands):
            postings = self._postings.get(band)
            if not postings:
                continue
            for _ts, entry in postings[bisect.bisect_left(postings, start):]:
                shared[entry] = shared.get(entry, 0) + 1
        ranked = sorted(shared.items(), key=lambda pair: (-pair[1], pair[0]))
        return [(self._entries[entry][0], self._entries[entry][1]) for entry, _ in ranked]
