"""Another sense of a curator's phrase: "offshore wind" the weather, not the industry.

A few phrases a curator types are also everyday English for something else: a sailing
report's "a gusty offshore wind" or "offshore winds gusting to 70 mph" is weather, while
"offshore wind farm", "offshore wind auction" or "prioritise offshore wind" is the
industry. The words right around an occurrence usually show which: as the industry's
noun the phrase modifies a noun after it ("... farm", "... developer"); the weather is
written in the plural, after an article or a weather adjective, or before a word for
what wind does ("gusts"). A bare occurrence ("Sailing: offshore wind gives the fleet a
fast start") shows nothing, so it reads as the item reads the phrase elsewhere: an item
shows one sense throughout (Gale, Church and Yarowsky 1992). The phrases and their cue
words are data (aggregator/core/vocabulary/senses.toml), each with its source.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aggregator.core.match.text import plural_forms, tokenize, word_before
from aggregator.core.vocabulary import load

TOPIC = "topic"
OTHER = "other"
_WORD_AFTER_RE = re.compile(r"\s+([^\W\d_]+)")


@dataclass(frozen=True, slots=True)
class Sense:
    """How the text shows which sense one phrase has (see the module docstring)."""

    other_sense: str
    topic_after: frozenset[str]
    other_before: frozenset[str]
    other_after: frozenset[str]
    plural_is_other: bool
    last_token: str

    def cue(self, text: str, start: int, end: int) -> str:
        """TOPIC, OTHER or "" for the occurrence text[start:end]."""
        after = _WORD_AFTER_RE.match(text, end)
        following = after.group(1).lower() if after else ""
        if following in self.topic_after:
            return TOPIC
        if self.plural_is_other and tokenize(text[start:end])[-1:] != [self.last_token]:
            return OTHER
        if following in self.other_after or word_before(text, start) in self.other_before:
            return OTHER
        return ""


def _nouns(words: list[str]) -> frozenset[str]:
    """The nouns with their plurals ("farm", "farms")."""
    return frozenset(form for word in words for form in plural_forms(word))


@functools.cache
def _senses() -> dict[tuple[str, ...], Sense]:
    senses = {}
    for entry in load("senses")["phrases"]:
        tokens = tuple(tokenize(entry["phrase"]))
        senses[tokens] = Sense(
            other_sense=entry["other_sense"],
            topic_after=_nouns(entry["topic_after"]),
            other_before=frozenset(entry["other_before"]),
            other_after=frozenset(entry["other_after"]),
            plural_is_other=entry["plural_is_other"],
            last_token=tokens[-1],
        )
    return senses


def sense_of(term: str) -> Sense | None:
    """The other-sense reading of a term as a curator wrote it, if the data lists one."""
    return _senses().get(tuple(tokenize(term)))
