"""Where a hit is: an item's text cut into located passages (title, lead, body, boilerplate).

A headline hit says more about what an item is about than a hit in the issuer's
"About" paragraph, so before hits are weighed the item's text is cut into paragraphs
(from the HTML's block tags) and each paragraph is given a location:

* `title`: the title.
* `lead`: the first ~400 characters of the first paragraph (the summary, else the body):
  where a release or a story says what it is about. The first paragraph stays one
  passage (`lead_end` says where its lead ends, see `Passage.location_at`), so its
  text is read once and a sentence across the cut is read whole.
* `boilerplate`: (a) a paragraph learned to repeat across the source's items (the
  caller counts normalized paragraphs, see `paragraph_key`, and passes the repeated
  ones), and (b) the standard release sections recognised by how they start ("About
  <Name>", "Forward-Looking Statements", "Safe Harbor", "Media Contact", "SOURCE
  <Name>", ...). A section heading that stands alone as a paragraph makes the
  paragraphs after it boilerplate too, up to the next heading that is not boilerplate.
* `body`: everything else.

A paragraph that repeats within the item (a lead copied into the content) is kept once.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aggregator.core.sanitize import html_to_text

LEAD_CHARS = 400
"""How much of the first paragraph counts as the lead."""

MIN_LEARNED_CHARS = 50
"""Paragraphs with fewer letters and digits ("Read more", a date line) repeat without
being boilerplate."""

_PARAGRAPH_BREAK_RE = re.compile(
    r"<\s*(?:/\s*(?:p|div|li|h[1-6]|tr|blockquote|section|article)|br\s*/?|hr\s*/?)\s*>",
    re.IGNORECASE,
)
_BOILERPLATE_START_RE = re.compile(
    r"""^\W*(?:
        about\s+(?!the\s+(?:study|trial|program|data)\b)[^\W\d_]
      | forward[\s-]+looking\s+statements?
      | cautionary\s+(?:note|statement|language)
      | safe\s+harbou?r
      | (?:media|investor|press|company|ir|pr)(?:\s+relations)?\s+(?:contacts?|inquiries|enquiries)
      | contacts?\s*:
      | disclaimer
      | notes?\s+to\s+editors?
      | (?:view\s+)?(?:original\s+)?content\s*:
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_SOURCE_LINE_RE = re.compile(r"^SOURCE\s+[A-Z]")  # PR Newswire's closing "SOURCE Acme Inc."
_HEADING_WORDS = 8  # a paragraph of at most this many words and no full stop is a heading
_DIGITS_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[\W_]+")
_TAG_RE = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of an item's text with its location; `field` is the MatchDocument field."""

    field: str
    location: str
    text: str
    lead_end: int = 0  # a "lead" passage: where the lead ends; the rest is body

    def location_at(self, position: int) -> str:
        """The location of the text at `position` (a first paragraph's tail is body)."""
        if self.location == "lead" and position >= self.lead_end:
            return "body"
        return self.location


def html_paragraphs(fragment: str) -> list[str]:
    """The plain-text paragraphs of an HTML fragment (block tags and <br> end one)."""
    if not fragment:
        return []
    pieces = _PARAGRAPH_BREAK_RE.split(fragment)
    return [text for text in (html_to_text(piece) for piece in pieces) if text]


def paragraph_key(paragraph: str) -> str | None:
    """A short key of a paragraph for counting repeats across a source's items: letters
    and digits only, lower-cased, every number the same (a boilerplate's employee count
    or date changes). Cheap on purpose: every paragraph of every fetched item is keyed.
    None for a paragraph too short to be told apart from a common phrase."""
    canonical = _DIGITS_RE.sub("0", _NON_WORD_RE.sub("", paragraph.lower()))
    if len(canonical) < MIN_LEARNED_CHARS:
        return None
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


def _rough_paragraphs(fragment: str) -> Iterator[str]:
    """An HTML fragment's paragraphs with tags dropped and entities decoded: enough for
    `paragraph_key`, which keeps only letters and digits, at a fraction of the cost of
    `html_paragraphs`."""
    for piece in _PARAGRAPH_BREAK_RE.split(fragment or ""):
        yield html.unescape(_TAG_RE.sub(" ", piece))


class ParagraphCounts:
    """How many items of each source hold each paragraph (by `paragraph_key`): what one
    source says in every release (its About text, safe harbor, contacts) is boilerplate.
    Fed from stored items at start or re-match and from each fetched document."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    def add(self, source: str, fragments: Iterable[str]) -> None:
        """Count one item, given as its HTML fragments (summary, content)."""
        keys = {
            key
            for fragment in fragments
            for paragraph in _rough_paragraphs(fragment)
            if (key := paragraph_key(paragraph)) is not None
        }
        self._counts.setdefault(source, Counter()).update(keys)

    def repeated(self, source: str) -> frozenset[str]:
        """The keys of the paragraphs found in at least two of the source's items."""
        counts = self._counts.get(source, Counter())
        return frozenset(key for key, count in counts.items() if count >= 2)


def is_boilerplate_start(paragraph: str) -> bool:
    """Whether a paragraph opens a standard release section (About, FLS, contacts)."""
    return bool(_BOILERPLATE_START_RE.match(paragraph) or _SOURCE_LINE_RE.match(paragraph))


def _is_heading(paragraph: str) -> bool:
    return len(paragraph.split()) <= _HEADING_WORDS and not paragraph.rstrip().endswith(".")


def passages(
    title: str,
    fields: Iterable[tuple[str, list[str]]],
    repeated: frozenset[str] = frozenset(),
) -> list[Passage]:
    """The located passages of an item: its title, then each field's paragraphs in order.

    `fields` gives (field name, paragraphs) for the summary and the content; `repeated`
    holds the `paragraph_key`s the source is known to repeat across its items.
    """
    result = [Passage("title", "title", title)] if title else []
    seen: set[str] = set()
    lead_given = False
    for field, paragraphs in fields:
        in_section = False  # after a boilerplate heading such as "About Acme"
        for paragraph in paragraphs:
            if paragraph in seen:  # the lead repeated in the content
                continue
            seen.add(paragraph)
            starts = is_boilerplate_start(paragraph)
            if _is_heading(paragraph):
                in_section = starts
            learned = bool(repeated) and paragraph_key(paragraph) in repeated
            if starts or in_section or learned:
                result.append(Passage(field, "boilerplate", paragraph))
            elif not lead_given:
                lead_given = True
                result.append(Passage(field, "lead", paragraph, _cut(paragraph, LEAD_CHARS)))
            else:
                result.append(Passage(field, "body", paragraph))
    return result


def _cut(text: str, limit: int) -> int:
    """An index near `limit` that does not split a word."""
    if len(text) <= limit:
        return len(text)
    space = text.rfind(" ", 0, limit)
    return space if space > limit // 2 else limit
