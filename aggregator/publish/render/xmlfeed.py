"""feedgen, and the small lxml pass after it, for the two XML formats.

Atom and RSS are built with feedgen (`FeedGenerator`/`FeedEntry`, its `dc` extension
for `dc:creator`). Every date feedgen would otherwise default to `now()` (feed
`updated`, which is also RSS `lastBuildDate`, and each entry's `updated`) is set from
the page. feedgen 1.0 gets a few details wrong, so its output gets a small, explicit
lxml pass afterwards (`_fix_atom`, `_fix_rss`) instead of a hand-written document:

- `FeedEntry.atom_entry` shadows its loop variable, so every entry `<link>` loses its
  `rel`, `type` and `title`: "also on" links would become duplicate alternates. We put
  back the attributes of the links we gave it.
- The RSS channel `<link>` is the href of the *last* link given to `FeedGenerator.link`
  whatever its `rel`, so the page link (`html_url`) is always added last.
- RSS output carries only the first `atom:link rel="self"`; RFC 5005 paging links are
  added after it.
- Dates come out as `isoformat()` (`+00:00`) and `%z` (`+0000`); they are normalised to
  the `Z` and `GMT` forms this module has always published.
- RSS dates go through `feedgen.util.formatRFC2822`, which switches the process-wide
  locale to "C" and back; concurrent calls can leave the process in the wrong locale,
  so RSS serialisation holds a lock.
- Atom needs a feed-level author unless every entry has one (set explicitly); RSS
  `<author>` must be an e-mail address, so names go into `dc:creator`.
"""

from __future__ import annotations

import threading

from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator.models import FeedPage
from aggregator.publish.render.common import LANGUAGE, text_or, utc

# feedgen builds with lxml; its output is parsed back (our own bytes, so no entities,
# no network) for the fixes listed in the module docstring, then serialised as before.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# See the module docstring: feedgen.util.formatRFC2822 flips the process locale.
RSS_LOCK = threading.Lock()


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def feed_generator(page: FeedPage) -> FeedGenerator:
    """The feed-level fields both formats share; every date set, none left to now()."""
    fg = FeedGenerator()
    fg.title(text_or(page.title, page.slug))
    fg.language(LANGUAGE)
    fg.updated(utc(page.updated))  # also RSS lastBuildDate
    return fg


def normalise_dates(root: etree._Element, tags: tuple[str, ...], old: str, new: str) -> None:
    for tag in tags:
        for element in root.iter(tag):
            if element.text and element.text.endswith(old):
                element.text = element.text[: -len(old)] + new


