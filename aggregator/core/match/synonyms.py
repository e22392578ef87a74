"""Curated synonym sets (aggregator/core/vocabulary/synonyms.toml) and which term gets one.

A curator writes "CAR-T" and means Kymriah, "genetically modified autologous T cell
immunotherapy" and obe-cel too; a topic whose term names a set's head gets the whole
set (unless the topic says `synonyms = false`). The config's
`[synonyms]` table adds terms to a set by its key. A set may name the domain its
field writes in (`domain = "clinical"`); the domain's cue words tell a bare
abbreviation's sense from the words around it (see `relevance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from aggregator.core.match.text import tokenize
from aggregator.core.vocabulary import load


@dataclass(frozen=True, slots=True)
class SynonymSet:
    key: str
    head: str
    source: str
    terms: tuple[str, ...]
    context: frozenset[str] = frozenset()  # its domain's cue words, folded


def _domains() -> dict[str, frozenset[str]]:
    """Domain key -> its cue words as the matcher's tokens."""
    return {
        key: frozenset(token for cue in domain["cues"] for token in tokenize(cue))
        for key, domain in load("synonyms").get("domains", {}).items()
    }


class Synonyms:
    """The shipped sets, extended by the config, looked up by any member's tokens."""

    def __init__(self, extra: Mapping[str, list[str]] | None = None) -> None:
        domains = _domains()
        sets = [
            SynonymSet(
                s["key"], s["head"], s["source"], tuple(s["terms"]),
                domains[s["domain"]] if "domain" in s else frozenset(),
            )
            for s in load("synonyms")["sets"]
        ]
        extra = extra or {}
        unknown = sorted(set(extra) - {s.key for s in sets})
        if unknown:
            raise ValueError(
                f"unknown synonym set(s) {', '.join(map(repr, unknown))}: the shipped sets are "
                + ", ".join(repr(s.key) for s in sets)
            )
        self.sets = [
            replace(s, terms=s.terms + tuple(extra.get(s.key, ()))) for s in sets
        ]
        self._by_tokens = {tuple(tokenize(s.head)): s for s in self.sets}

    def set_for(self, term: str) -> SynonymSet | None:
        """The set a curator's term names as its head, if any: "lupus" gets "lupus
        nephritis" and belimumab, but "lupus nephritis" does not get all of lupus."""
        return self._by_tokens.get(tuple(tokenize(term)))
