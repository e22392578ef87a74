"""Where a source's feed can be subscribed to by WebSub: its hub and topic URLs.

W3C WebSub 4: a publisher names its hub(s) and the topic URL (rel="hub", rel="self") in
the HTTP `Link` header and/or in the document (`<link>`/`atom:link`, JSON Feed
`hubs`). The header comes first; the document's links are the fallback. Without a
rel="self" the URL the feed was fetched from is the topic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

# One link-value of RFC 8288: <uri> followed by ;-separated parameters.
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[\w*-]+\s*(?:=\s*(?:"[^"]*"|[^",;]*))?)*)')
_REL = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^",;\s]*))', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HubLinks:
    """A feed's WebSub hub (the first one named) and its topic URL."""

    hub: str
    topic: str


def link_header_rels(value: str, base_url: str) -> dict[str, list[str]]:
    """rel -> URLs named in an HTTP Link header (a link may carry several rels)."""
    found: dict[str, list[str]] = {}
    for match in _LINK.finditer(value):
        rel = _REL.search(match.group(2))
        if rel is None:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            found.setdefault(name, []).append(urljoin(base_url, match.group(1).strip()))
    return found


def find_hub(
    headers: Mapping[str, str], hubs: Sequence[str], self_url: str | None, fetched_url: str
) -> HubLinks | None:
    """The hub and topic to subscribe to, or None when the feed names no hub."""
    header = next((value for name, value in headers.items() if name.lower() == "link"), "")
    rels = link_header_rels(header, fetched_url) if header else {}
    if rels.get("hub"):
        return HubLinks(rels["hub"][0], (rels.get("self") or [self_url or fetched_url])[0])
    if hubs:
        return HubLinks(hubs[0], self_url or fetched_url)
    return None
