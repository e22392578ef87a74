"""feedparser's rules the fast path must follow to give feedparser's answers, without
its private internals: own code where the rule is small, feedparser's public classes
where the rule is a table feedparser maintains.

* `parse_date`: the two forms plain feeds use, RFC 822 (RSS, with a numeric offset or
  one of the zone names feedparser's public `timezone_names` table knows: US wires
  write "EST" and "PDT") and RFC 3339 (Atom), as feedparser's rfc822 and w3dtf
  handlers read them. Any other form raises
  `UnknownDate`, and the fast path hands the document to feedparser, whose dozen
  handlers (two-digit years, Korean, Greek, asctime...) are the parser of record.
* `fix_c1`: C1 control characters as the cp1252 characters they were meant to be.
* `urljoin`: urllib's join after collapsing the slashes after a scheme's "://".
* `NAMESPACES`, `HTML_TYPES`, `looks_like_html`, `map_content_type`: read from
  feedparser's public `StrictFeedParser`, so the namespace table and the HTML guess
  stay feedparser's own as it changes.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timedelta

from feedparser.api import StrictFeedParser
from feedparser.datetimes.rfc822 import timezone_names

NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()
}
HTML_TYPES: set[str] = set(StrictFeedParser.html_types)
looks_like_html: Callable[[str], bool] = StrictFeedParser.looks_like_html
map_content_type: Callable[[str], str] = StrictFeedParser.map_content_type


class UnknownDate(Exception):
    """A date in a form only feedparser's other handlers read."""


def _cp1252_table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # five codes cp1252 leaves undefined stay as they are
    return table


CP1252 = _cp1252_table()
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_SCHEME_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")


def fix_c1(text: str) -> str:
    return text.translate(CP1252) if _C1_CONTROLS.search(text) else text


def urljoin(base: str, uri: str) -> str:
    """feedparser's join: "http:///x" becomes "http://x"; an invalid URL joins to ""."""
    uri = _SCHEME_SLASHES.sub(r"\1\3", uri)
    try:
        return urllib.parse.urljoin(base, uri)
    except ValueError:
        return ""


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:(Z)|([+-])(\d\d):(\d\d))", re.I
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# feedparser reads a zone name it does not know as UTC; "utc" is the one plain feeds use.
_ZONE_HOURS = {name.lower(): hours for name, hours in timezone_names.items()} | {"utc": 0}
_ZONES = "|".join(sorted(_ZONE_HOURS, key=len, reverse=True))
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun),\s*)?(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+"
    r"(\d{4})\s+(\d\d):(\d\d):(\d\d)\s+(?:(" + _ZONES + r")|([+-])(\d\d)(\d\d))",
    re.I,
)


def parse_date(value: str) -> time.struct_time | None:
    """A UTC time tuple, as feedparser's `_parse_date` gives it; None for no date."""
    if not value:
        return None
    match = _RFC3339.fullmatch(value)
    if match:
        year, month, day, hour, minute, second, zone, sign, tz_hour, tz_minute = match.groups()
    else:
        match = _RFC822.fullmatch(value)
        if not match:
            raise UnknownDate(value)
        day, month_name, year, hour, minute, second, zone, sign, tz_hour, tz_minute = match.groups()
        month = str(_MONTHS[month_name.lower()])
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as error:
        raise UnknownDate(value) from error  # feedparser's other handlers may still try
    if zone:
        offset = timedelta(hours=_ZONE_HOURS[zone.lower()])
    else:
        offset = timedelta(hours=int(tz_hour), minutes=int(tz_minute))
        offset = -offset if sign == "-" else offset
    try:
        return (stamp - offset).utctimetuple()
    except OverflowError as error:
        raise UnknownDate(value) from error
