"""Near-duplicate detection for syndicated press releases.

The same release arrives from several wires and sites within hours, each copy with
its own URL, title decoration, dateline and boilerplate. This package turns a title
and lead into a :class:`Fingerprint` (MinHash signature, LSH band keys, anchor facts)
and decides with :func:`compare` whether two fingerprints are one story.

Modules: :mod:`.text` cleans and tokenizes, :mod:`.anchors` extracts the facts that
veto merges of templated look-alikes, :mod:`.core` holds the fingerprint, the
decision and the in-memory :class:`BandIndex` that the store's table mirrors.
"""

from .anchors import Conflict, conflicts, extract_anchors
from .core import (
    BANDS,
    DEFAULT_CONTAINMENT,
    DEFAULT_THRESHOLD,
    MIN_SHINGLES,
    NUM_PERM,
    ROWS,
    SCHEME,
    BandIndex,
    Fingerprint,
    MergeProbe,
    MergeVerdict,
    best_match,
    compare,
    fingerprint,
    fingerprint_item,
    lead_of,
    stored_fingerprint,
)
from .text import LEAD_CHARS, clean_lead, clean_title, dedupe_text, tokens

__all__ = [
    "BANDS",
    "DEFAULT_CONTAINMENT",
    "DEFAULT_THRESHOLD",
    "LEAD_CHARS",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SCHEME",
    "BandIndex",
    "Conflict",
    "Fingerprint",
    "MergeProbe",
    "MergeVerdict",
    "best_match",
    "clean_lead",
    "clean_title",
    "compare",
    "conflicts",
    "dedupe_text",
    "extract_anchors",
    "fingerprint",
    "fingerprint_item",
    "lead_of",
    "stored_fingerprint",
    "tokens",
]
