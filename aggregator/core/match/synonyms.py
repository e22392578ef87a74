"""Curated synonym sets (aggregator/core/vocabulary/synonyms.toml) and which term gets one.

A curator writes "CAR-T" and means Kymriah, "genetically modified autologous T cell
immunotherapy" and obe-cel too; a topic whose term names a set's head gets the whole
set (unless the topic says `synonyms = false`). The config's
`[synonyms]` table adds terms to a set by its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aggregator.core.match.text import tokenize
from aggregator.core.vocabulary import load


@dataclass(frozen=True, slots=True)
class SynonymSet:
    key: str
    head: str
    source: str
    terms: tuple[str, ...]


class Synonyms:
    """The shipped sets, extended by the config, looked up by any member's tokens."""

    def __init__(self, extra: Mapping[str, list[str]] | None = None) -> None:
        sets = [
            SynonymSet(s["key"], s["head"], s["source"], tuple(s["terms"]))
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
            SynonymSet(s.key, s.head, s.source, s.terms + tuple(extra.get(s.key, ()))) for s in sets
        ]
        self._by_tokens = {tuple(tokenize(s.head)): s for s in self.sets}

    def set_for(self, term: str) -> SynonymSet | None:
        """The set a curator's term names as its head, if any: "lupus" gets "lupus
        nephritis" and belimumab, but "lupus nephritis" does not get all of lupus."""
        return self._by_tokens.get(tuple(tokenize(term)))
