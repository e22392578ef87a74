"""Abbreviations an item defines, "long form (SF)", found with the Schwartz-Hearst algorithm.

A. S. Schwartz and M. A. Hearst, "A simple algorithm for identifying abbreviation
definitions in biomedical text", Pacific Symposium on Biocomputing 8:451-462 (2003).
For each parenthesised short form, the words before it (at most min(|SF| + 5, 2|SF|))
are searched right to left for the short form's characters in order, the first one
starting a word; the shortest long form that holds them all is the definition. It needs
no dictionary, so "Solid Lipid Emulsion (SLE)" and "Morgan Stanley (MS)" are read as
what the text says they are.
"""

from __future__ import annotations

import functools
import re

_PAREN_RE = re.compile(r"\(\s*([^()]{2,10}?)\s*\)")
_CLAUSE_BREAK_RE = re.compile(r"[.;:!?]\s|\(|\)")
# A period that ends a short capitalized word ("St. Louis", "Dr. Ames", "Mt. Sinai") is
# an abbreviation's, not a sentence's end, and may sit inside a long form.
_ABBREVIATED_WORD_RE = re.compile(r"(?<![^\W\d_])[A-Z][a-z]{0,2}$")


def definitions(text: str) -> dict[str, str]:
    """Short form -> long form for each definition "long form (SF)" in `text`."""
    found: dict[str, str] = {}
    if "(" not in text:
        return found
    for match in _PAREN_RE.finditer(text):
        short = match.group(1)
        if not _is_short_form(short):
            continue
        before = text[: match.start()]
        breaks = [
            found
            for found in _CLAUSE_BREAK_RE.finditer(before)
            if found.group()[0] != "." or not _ABBREVIATED_WORD_RE.search(before, 0, found.start())
        ]
        clause = before[breaks[-1].end() :] if breaks else before
        words = clause.split()
        limit = min(len(short) + 5, 2 * len(short))
        candidate = " ".join(words[-limit:])
        long_form = best_long_form(short, candidate)
        if long_form and short not in found:
            found[short] = long_form
    return found


def initialism(text: str, acronym: str) -> str | None:
    """A run of capitalized words whose initials spell `acronym`'s letters ("Capital Area
    Rapid Transit" for CAR-T), or None: how news text often introduces an acronym
    without parentheses ("Capital Area Rapid Transit's CAR-T line")."""
    pattern = _initials_pattern(acronym)
    found = pattern.search(text) if pattern is not None else None
    return " ".join(found.group().split()) if found else None


@functools.lru_cache(maxsize=1024)
def _initials_pattern(acronym: str) -> re.Pattern[str] | None:
    letters = [c for c in acronym if c.isalpha()]
    if len(letters) < 2:
        return None
    # each word: the capital, then a lowercase letter (not another all-caps acronym)
    words = r"\s+".join(rf"{re.escape(c)}[^\W\d_A-Z][^\W_]*" for c in letters)
    return re.compile(rf"(?<![^\W_]){words}(?![^\W_])")


def _is_short_form(short: str) -> bool:
    words = short.split()
    return (
        len(words) <= 2
        and short[0].isalnum()
        and any(c.isalpha() for c in short)
        and any(c.isupper() for c in short)
    )


def best_long_form(short: str, long: str) -> str | None:
    """The Schwartz-Hearst match of `short` in the words `long`, or None."""
    s, index = len(short) - 1, len(long) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        while index >= 0 and (
            long[index].lower() != char or (s == 0 and index > 0 and long[index - 1].isalnum())
        ):
            index -= 1
        if index < 0:
            return None
        index -= 1
        s -= 1
    start = long.rfind(" ", 0, index + 1) + 1
    result = long[start:]
    if len(result) <= len(short) or len(result.split()) < 2 and short.lower() in result.lower():
        return None
    return result
