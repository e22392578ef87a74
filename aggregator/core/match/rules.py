"""Compiled rule pieces: term atoms and query nodes evaluated against found phrases.

A rule is compiled once; evaluating it for an item needs only `found`, the map from
phrase id to the fields the item's text contained it in (see `PhraseIndex.search`).
Each piece can also say, in words, why it did or did not hold, which is what
`TopicMatch.reason` is built from.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.core.match.relevance import Located
from aggregator.models import TermHit

Found = dict[int, list[Located]]
"""Phrase id -> its weighed occurrences in the item (see `relevance.locate`)."""


Log = list[tuple["Atom", list[TermHit]]]
"""Atoms that hit during an evaluation, with their hits (for hits and reasons)."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One term or @group as the curator wrote it, resolved to phrase ids."""

    label: str  # "CAR-T", or "@car_t" for a group
    members: tuple[tuple[int, str, str], ...]  # (phrase id, term as written, synonym of)
    fields: tuple[str, ...]
    field_prefix: str | None = None

    def hits(self, found: Found) -> list[TermHit]:
        hits: list[TermHit] = []
        for pid, text, synonym_of in self.members:
            for place in found.get(pid, ()):
                if place.field in self.fields:
                    hits.append(TermHit(
                        text, place.field, place.location, place.snippet, place.weight,
                        place.note, synonym_of, place.span,
                    ))
        return hits

    def shown(self) -> str:
        """The atom as written: 'CAR-T', @car_t, title:'CAR-T'."""
        prefix = f"{self.field_prefix}:" if self.field_prefix else ""
        label = self.label if self.label.startswith("@") else f"'{self.label}'"
        return prefix + label


def describe(log: Log) -> str:
    """"'CAR-T' in title, summary; @car_t ('CAR T-cell' in content)"."""
    parts = []
    for atom, hits in log:
        if not hits:
            continue
        text = describe_hits(hits)
        parts.append(f"{atom.label} ({text})" if atom.label.startswith("@") else text)
    return ", ".join(parts)


def describe_hits(hits: list[TermHit]) -> str:
    """"'CAR-T' in title, summary, 'lupus' in content" — terms in first-seen order."""
    fields: dict[str, list[str]] = {}
    for hit in hits:
        where = fields.setdefault(hit.term, [])
        if hit.field not in where:
            where.append(hit.field)
    return ", ".join(f"'{term}' in {', '.join(where)}" for term, where in fields.items())


def describe_atoms(atoms: tuple[Atom, ...], limit: int = 5) -> str:
    """A short list of what was looked for: "'a', @b, title:'c' (+12 more)"."""
    shown = [atom.shown() for atom in atoms[:limit]]
    more = f" (+{len(atoms) - limit} more)" if len(atoms) > limit else ""
    return ", ".join(shown) + more


@dataclass(frozen=True, slots=True)
class QAtom:
    atom: Atom

    def evaluate(self, found: Found, log: Log) -> bool:
        hits = self.atom.hits(found)
        if hits:
            log.append((self.atom, hits))
        return bool(hits)

    def shown(self) -> str:
        return self.atom.shown()

    def why_not(self, found: Found) -> str:
        return f"{self.atom.shown()} not found"


@dataclass(frozen=True, slots=True)
class QNot:
    child: QNode

    def evaluate(self, found: Found, log: Log) -> bool:
        return not self.child.evaluate(found, log)

    def shown(self) -> str:
        return f"NOT {self.child.shown()}"

    def why_not(self, found: Found) -> str:
        if isinstance(self.child, QAtom):
            return f"NOT {self.child.shown()} failed ({describe_hits(self.child.atom.hits(found))})"
        return f"{self.shown()} failed: {self.child.shown()} holds"


@dataclass(frozen=True, slots=True)
class QAnd:
    children: tuple[QNode, ...]

    def evaluate(self, found: Found, log: Log) -> bool:
        results = [child.evaluate(found, log) for child in self.children]  # all, for hits
        return all(results)

    def shown(self) -> str:
        return "(" + " AND ".join(child.shown() for child in self.children) + ")"

    def why_not(self, found: Found) -> str:
        return " and ".join(
            child.why_not(found) for child in self.children if not child.evaluate(found, [])
        )


@dataclass(frozen=True, slots=True)
class QOr:
    children: tuple[QNode, ...]

    def evaluate(self, found: Found, log: Log) -> bool:
        results = [child.evaluate(found, log) for child in self.children]
        return any(results)

    def shown(self) -> str:
        return "(" + " OR ".join(child.shown() for child in self.children) + ")"

    def why_not(self, found: Found) -> str:
        return "none of: " + ", ".join(child.why_not(found) for child in self.children)


QNode = QAtom | QNot | QAnd | QOr
