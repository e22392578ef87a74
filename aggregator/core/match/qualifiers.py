"""A qualifier the text contrasts with the topic: "onshore wind farm" for offshore wind.

A topic "offshore wind" that also lists "wind farm" means offshore wind farms; a text
that writes "onshore wind farm" names the other kind, and a newsroom would not file it
under offshore wind. So a hit right after a qualifier whose opposite (a WordNet antonym,
aggregator/core/vocabulary/contrasts.toml) is one of the topic's own words counts
nothing. The item then speaks of that kind throughout: the same term written bare
elsewhere ("the wind farm") is the same thing, unless the item also writes the term
with the topic's own qualifier ("offshore wind farms"), so a story about both kinds
keeps its offshore hits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from aggregator.core.vocabulary import load
from aggregator.models import TermHit


@functools.cache
def _opposites() -> dict[str, frozenset[str]]:
    opposites: dict[str, set[str]] = {}
    for one, other in load("contrasts")["pairs"]:
        opposites.setdefault(one, set()).add(other)
        opposites.setdefault(other, set()).add(one)
    return {word: frozenset(them) for word, them in opposites.items()}


def contrasted(
    hits: Sequence[TermHit], word_before: Callable[[TermHit], str], vocabulary: frozenset[str]
) -> dict[TermHit, str]:
    """The hits that name the contrasted kind, each with the qualifier that says so.

    `word_before(hit)` is the word right before a hit; `vocabulary` the topic's words."""
    opposites = _opposites()
    qualifier = {hit: word for hit in hits if (word := word_before(hit))}
    contrast: dict[str, str] = {}  # term -> the contrasting qualifier the item uses
    own: set[str] = set()  # terms the item also writes with the topic's own qualifier
    for hit, word in qualifier.items():
        opposite = opposites.get(word, frozenset())
        if word in vocabulary and opposite:
            own.add(hit.term)
        elif word not in vocabulary and not opposite.isdisjoint(vocabulary):
            contrast.setdefault(hit.term, word)
    return {
        hit: word
        for hit in hits
        if (word := contrast.get(hit.term)) and (hit.term not in own or qualifier.get(hit) == word)
    }
