"""Reading item rows: the column list every item query selects, and its dataclass."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aggregator.models import StoredItem

ITEM_COLUMNS = (
    "item_id, source, story_id, link, canonical_link, title, summary_html, content_html, "
    "title_text, summary_text, content_text, author, categories, published, updated, "
    "first_seen, changed_at, fingerprint"
)


def stored_item(row: Sequence[Any]) -> StoredItem:
    """An `ITEM_COLUMNS` row as a StoredItem (categories decoded from JSON)."""
    values = list(row)
    values[12] = json.loads(values[12])
    return StoredItem(*values)
