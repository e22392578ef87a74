"""Where each key of a TOML document is written, so a config problem can name its line.

`tomllib` keeps no positions, and the config's problems are named by key path
(`sources[3].url`), so a scan of the source text maps each path to the line that
starts it: table headers, `[[array]]` entries (counted as TOML counts them) and
`key = value` lines. A path the text does not spell out (a default, an environment
override) has no line, and its problem is reported without one.
"""

from __future__ import annotations

import re

_ARRAY_TABLE = re.compile(r"^\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*)$""")
_TRIPLE_QUOTES = ('"""', "'''")
_LAST_PART = re.compile(r"(\[\d+\]|\.[^.\[]+)$")


def key_lines(text: str) -> dict[str, int]:
    """Key path (as `format_location` writes it) -> 1-based line of its first mention."""
    lines: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    open_string: str | None = None  # the delimiter of a multi-line string being skipped
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if open_string is not None:
            if line.count(open_string) % 2:
                open_string = None
            continue
        if not line or line.startswith("#"):
            continue
        if match := _ARRAY_TABLE.match(line):
            name = match.group(1)
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = f"{name}[{index}]"
            lines.setdefault(name, number)
        elif match := _TABLE.match(line):
            table = match.group(1)
        elif match := _KEY.match(line):
            key = match.group(1).strip("\"'")
            lines.setdefault(f"{table}.{key}" if table else key, number)
            value = match.group(2)
            open_string = next((q for q in _TRIPLE_QUOTES if value.count(q) % 2), None)
            continue
        else:
            continue
        lines.setdefault(table, number)
    return lines


def line_of(location: str, lines: dict[str, int]) -> int | None:
    """The line of `location`, or of the nearest enclosing key the text spells out."""
    while location:
        if location in lines:
            return lines[location]
        shorter = _LAST_PART.sub("", location)
        if shorter == location:
            return None
        location = shorter
    return None
