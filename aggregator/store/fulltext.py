"""Translating a parsed query (the topics' language, `aggregator.core.match.query`) into
each engine's full-text syntax: an FTS5 MATCH expression for SQLite, a SQL condition of
tsquery tests for PostgreSQL.

User text never reaches SQL: on SQLite every term becomes an FTS5 string (`"..."`, with
'"' doubled), and the one MATCH expression travels as a parameter; on PostgreSQL every
term is a `phraseto_tsquery(?)` parameter, which has no syntax to inject. What an engine
cannot express raises `SearchQueryError` saying why and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aggregator.core.match.query import And, Node, Not, Or, Term

#: FTS5 column of each field (external content: the `items` column names).
FTS5_COLUMNS = {
    "title": "title_text",
    "summary": "summary_text",
    "content": "content_text",
    "category": "categories",
    "author": "author",
    "source": "source",
}
#: bm25 weight of each FTS5 column, in the table's column order: a title hit counts most.
FTS5_WEIGHTS = (10.0, 4.0, 1.0, 2.0, 1.0, 1.0)
#: tsvector weight of each field in `items.search_vector` (see 0006_search.postgresql.sql).
TSVECTOR_WEIGHTS = {"title": "a", "summary": "b", "category": "c", "content": "d"}
_SEARCHABLE = re.compile(r"\w")


class SearchQueryError(ValueError):
    """A query that parses but that full-text search cannot run; the message says why."""


@dataclass(frozen=True, slots=True)
class TsCondition:
    """A PostgreSQL search: `where` (SQL with `?` marks) selects the items, `rank` (a
    tsquery expression of every positive term) ranks them, each with its parameters."""

    where: str
    where_params: tuple[str, ...]
    rank: str
    rank_params: tuple[str, ...]


def expand_groups(node: Node, groups: Mapping[str, Sequence[str]]) -> Node:
    """The tree with every @group replaced by the OR of its terms (in the same fields),
    and every term checked to have something a full-text index can look up."""
    if isinstance(node, Term):
        if not node.is_group:
            if not _SEARCHABLE.search(node.text):
                raise SearchQueryError(
                    f"{node.text!r} at position {node.position} has no letters or digits, "
                    "and the full-text index holds nothing else"
                )
            return node
        if node.text not in groups:
            known = ", ".join(f"@{name}" for name in sorted(groups)) or "none are configured"
            raise SearchQueryError(
                f"unknown group @{node.text} at position {node.position} ([terms] groups: {known})"
            )
        members = [
            Term(text, False, node.fields, node.position, node.field_prefix)
            for text in groups[node.text]
        ]
        return members[0] if len(members) == 1 else Or(tuple(members))
    if isinstance(node, Not):
        return Not(expand_groups(node.child, groups))
    children = tuple(expand_groups(child, groups) for child in node.children)
    return And(children) if isinstance(node, And) else Or(children)


def _positive_parts(node: And) -> tuple[list[Node], list[Node]]:
    """An AND's terms to find and the terms to leave out (NOT x)."""
    found = [child for child in node.children if not isinstance(child, Not)]
    left_out = [child.child for child in node.children if isinstance(child, Not)]
    return found, left_out


def _needs_something_to_find(node: Node) -> SearchQueryError:
    return SearchQueryError(
        "a search needs a term to find, not only terms to leave out: NOT "
        "narrows what the rest of its AND finds (write e.g. lupus NOT mouse)"
        if isinstance(node, Not)
        else "a search needs a term to find"
    )


# -- SQLite FTS5 ----------------------------------------------------------------------


def fts5_match(node: Node) -> str:
    """The FTS5 MATCH expression of a group-expanded tree.

    FTS5's NOT is binary (`a NOT b`), so a NOT must sit in an AND with a term to find
    (`lupus NOT mouse`); `NOT mouse` alone or `lupus OR NOT mouse` cannot be expressed.
    """
    if isinstance(node, Term):
        columns = " ".join(FTS5_COLUMNS[field] for field in node.fields)
        quoted = node.text.replace('"', '""')
        return f'{{{columns}}} : "{quoted}"'
    if isinstance(node, Not):
        raise _needs_something_to_find(node)
    if isinstance(node, Or):
        return "(" + " OR ".join(fts5_match(child) for child in node.children) + ")"
    found, left_out = _positive_parts(node)
    if not found:
        raise _needs_something_to_find(node.children[0])
    expression = "(" + " AND ".join(fts5_match(child) for child in found) + ")"
    for child in left_out:
        expression = f"({expression} NOT {fts5_match(child)})"
    return expression


# -- PostgreSQL tsvector --------------------------------------------------------------


def ts_condition(node: Node) -> TsCondition:
    """The PostgreSQL condition and rank of a group-expanded tree.

    The same rule as FTS5 holds (a NOT only beside a term to find), so a query means the
    same on both engines. A term in the weighted fields tests `search_vector` (the GIN
    index) and, under a field prefix, also the vector filtered to that field's weight;
    author and source are tested on their own columns.
    """
    where, params = _ts_where(node)
    positives = _positive_terms(node)
    rank = " || ".join(["phraseto_tsquery('english', ?)"] * len(positives))
    return TsCondition(where, tuple(params), rank, tuple(term.text for term in positives))


def _ts_where(node: Node) -> tuple[str, list[str]]:
    if isinstance(node, Term):
        return _ts_term(node), [node.text] * _ts_term(node).count("?")
    if isinstance(node, Not):
        raise _needs_something_to_find(node)
    if isinstance(node, Or):
        parts = [_ts_where(child) for child in node.children]
        return (
            "(" + " OR ".join(sql for sql, _ in parts) + ")",
            [param for _, params in parts for param in params],
        )
    found, left_out = _positive_parts(node)
    if not found:
        raise _needs_something_to_find(node.children[0])
    parts = [_ts_where(child) for child in found]
    parts += [(f"NOT {sql}", params) for sql, params in map(_ts_where, left_out)]
    return (
        "(" + " AND ".join(sql for sql, _ in parts) + ")",
        [param for _, params in parts for param in params],
    )


def _ts_term(term: Term) -> str:
    tests = []
    weights = "".join(TSVECTOR_WEIGHTS[field] for field in term.fields if field in TSVECTOR_WEIGHTS)
    if weights:
        test = "i.search_vector @@ phraseto_tsquery('english', ?)"
        if len(weights) < len(TSVECTOR_WEIGHTS):  # a field prefix: that weight only
            test = (
                f"({test} AND ts_filter(i.search_vector, '{{{','.join(weights)}}}') "
                "@@ phraseto_tsquery('english', ?))"
            )
        tests.append(test)
    for field in ("author", "source"):
        if field in term.fields:
            tests.append(
                f"to_tsvector('simple', coalesce(i.{field}, '')) @@ phraseto_tsquery('simple', ?)"
            )
    return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"


def _positive_terms(node: Node) -> list[Term]:
    """The terms a match may have found (not under a NOT), for ranking."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [term for child in node.children for term in _positive_terms(child)]
