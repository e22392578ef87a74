"""Name tables matched fast: each entry's regex runs only when a literal "needle" of it
occurs in the text.

Most releases mention two or three names of a table, so testing a few substrings (a
C-speed `in`) before each regex is ~20x faster than one big alternation, which Python's
regex engine tries position by position. The needles are derived from each pattern's
literal prefixes (`needles_of`); an entry whose prefixes are too short to be useful
gives its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: (needle, exact): exact needles are tested against the text as written (abbreviations
#: such as "SLE" match only in capitals), the others against the lower-cased text.
Needle = tuple[str, bool]


def split_top(pattern: str) -> list[str]:
    """Split a regex on its top-level ``|`` (not inside groups or classes)."""
    parts: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def balanced(pattern: str) -> bool:
    """True if no ``)`` in `pattern` closes a group opened before it."""
    depth, i = 0, 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


def literal_prefix(alternative: str) -> str:
    """The literal characters every match of `alternative` starts with."""
    out: list[str] = []
    i = 0
    while i < len(alternative):
        char = alternative[i]
        if char == "\\":
            nxt = alternative[i + 1 : i + 2]
            if nxt.isalnum():  # \b, \d, \s ...: not a literal
                if nxt == "b" and not out:
                    i += 2
                    continue
                break
            out.append(nxt)
            i += 2
            continue
        if char in "*?{":
            if out:
                out.pop()
            break
        if char in ".^$[]()|+":
            break
        out.append(char)
        i += 1
    return "".join(out)


def needles_of(pattern: str, ignore_case: bool = False) -> list[Needle] | None:
    """Substrings at least one of which any match must contain; None when no such
    literal can be derived (the entry is then always tried)."""
    needles: list[Needle] = []
    for alternative in split_top(pattern):
        for wrapper in ("(?i:", "(?:"):
            inner = alternative[len(wrapper) : -1]
            if alternative.startswith(wrapper) and alternative.endswith(")") and balanced(inner):
                sub = needles_of(inner, ignore_case or wrapper == "(?i:")
                if sub is None:
                    return None
                needles.extend(sub)
                break
        else:
            prefix = literal_prefix(alternative)
            if len(prefix.strip()) < 2:
                return None
            needles.append((prefix.lower(), False) if ignore_case else (prefix, True))
    return needles


class NameTable:
    """A name table matched in order, each name's text blanked once matched, so a
    longer name listed first ("lupus nephritis") hides the shorter one it contains."""

    __slots__ = ("entries",)

    def __init__(self, table: Iterable[tuple[str, str, list[str] | None]]) -> None:
        """`table`: (name, pattern, hand-written lower-case needles or None)."""
        self.entries: list[tuple[str, re.Pattern[str], list[Needle] | None]] = []
        for name, pattern, manual in table:
            needles = [(n, False) for n in manual] if manual else needles_of(pattern)
            self.entries.append((name, re.compile(pattern), needles))

    def find(self, text: str, lowered: str) -> list[tuple[int, str]]:
        """(position, name) of every entry found in `text` (`lowered` is its lower case)."""
        found: list[tuple[int, str]] = []
        original = text
        for name, pattern, needles in self.entries:
            if needles is not None and not any(
                needle in (original if exact else lowered) for needle, exact in needles
            ):
                continue

            def _blank(match: re.Match[str], name: str = name) -> str:
                found.append((match.start(), name))
                return " " * len(match.group(0))

            text = pattern.sub(_blank, text)
        return found
