"""URL normalization: one canonical form for identity, one clean form for publishing.

Two different jobs need two different functions:

* :func:`canonicalize_url` gives the *identity* of a link. Two feeds that point at the
  same page with different tracking parameters, host case, default ports, parameter
  order or percent-encoding must produce the same string, because the store compares
  canonical links to merge copies. The result is not meant to be shown to anyone.
* :func:`clean_link` gives the link we *publish*: the publisher's own URL, made
  absolute, with only the tracking parameters taken out. Everything else (order, case,
  trailing slash, fragment) is left alone, because publishers' servers are not
  obliged to treat our "equivalent" forms as the same page.

Only well-known tracking parameters are removed. Parameters such as ``ref``, ``source``
or ``id`` select content on some sites, so guessing would break links; a missed tracker
only costs a duplicate canonical form, a wrong removal costs a broken link.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

__all__ = ["canonicalize_url", "clean_link", "is_tracking_param"]

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Exact parameter names (lower-cased) that only ever carry click/campaign tracking.
_TRACKING_EXACT = frozenset(
    {
        # Google Ads / Analytics / Display & Video
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "_ga", "_gl",
        # Meta, Microsoft, Yandex, Twitter/X, TikTok, LinkedIn, Instagram
        "fbclid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id", "igshid",
        "ref_src", "ref_url",  # Twitter/X embeds; plain `ref` is deliberately kept
        # Mailchimp, HubSpot, Marketo, Vero, Outbrain
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp",
        "hsctatracking", "mkt_tok", "vero_id", "vero_conv", "obclid",
        # Openstat, Matomo/Piwik campaign parameters
        "_openstat", "pk_campaign", "pk_kwd", "pk_source", "pk_medium", "pk_content",
        "mtm_campaign", "mtm_kwd", "mtm_source", "mtm_medium", "mtm_content",
        "mtm_cid", "mtm_group", "mtm_placement",
    }
)
# Parameter name prefixes (lower-cased): the utm_ family and its relatives.
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
# Trackers that are only trackers on one publisher's host (suffix match on the host).
_HOST_TRACKERS: dict[str, frozenset[str]] = {
    "prnewswire.com": frozenset({"tc"}),  # ?tc=eml_cleartime etc. on release links
    "businesswire.com": frozenset({"feedref"}),  # RSS click tracking
    "globenewswire.com": frozenset({"feedref"}),
}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PCT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def is_tracking_param(name: str, host: str = "") -> bool:
    """True for a query parameter name that only carries click or campaign tracking."""
    key = name.lower()
    if key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES):
        return True
    host = host.lower().rstrip(".")
    for domain, names in _HOST_TRACKERS.items():
        if key in names and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _absolute(url: str, base: str | None) -> SplitResult | None:
    """Resolve `url` against `base` and keep it only if it is a usable http(s) URL."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ch in url for ch in "\x00\r\n\t"):
        return None
    if base and not url.startswith(("http://", "https://")):
        try:
            url = urljoin(base.strip(), url)
        except ValueError:
            return None
    elif url.startswith("//"):
        url = "https:" + url  # protocol-relative with no base: assume the secure scheme
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        return None
    return parts


def _split_query(query: str) -> list[tuple[str, str | None]]:
    """Split a raw query into (name, value) pairs without decoding anything.

    Decoding and re-encoding with urlencode would turn ``+`` into ``%2B`` or ``%20``
    and change what the server receives, so pairs stay in their raw form. A value of
    None means the pair had no ``=`` at all (``?print``), which differs from ``?print=``.
    """
    pairs: list[tuple[str, str | None]] = []
    for chunk in query.split("&"):
        if not chunk:
            continue
        name, eq, value = chunk.partition("=")
        pairs.append((name, value if eq else None))
    return pairs


def _join_query(pairs: list[tuple[str, str | None]]) -> str:
    return "&".join(name if value is None else f"{name}={value}" for name, value in pairs)


def _raw_name(name: str) -> str:
    """Decode a raw parameter name enough to recognise ``utm%5Fsource`` as a tracker."""
    return _PCT_RE.sub(lambda m: chr(int(m.group(1), 16)), name.replace("+", " "))


def _normalize_pct(component: str, safe: str) -> str:
    """Normalize percent-encoding: decode unreserved bytes, upper-case the rest, encode
    raw characters that are not allowed, so that equivalent spellings compare equal."""
    component = _BAD_PCT_RE.sub("%25", component)

    def _decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    component = _PCT_RE.sub(_decode, component)
    out: list[str] = []
    for char in component:
        if char in _UNRESERVED or char in safe or char == "%":
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, so ``/a/./b/../c`` and ``/a/c`` are one identity."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _idna_host(host: str) -> str | None:
    """Lower-case the host and encode an internationalized name as IDNA (punycode)."""
    host = host.rstrip(".").lower()
    if not host:
        return None
    if host.startswith("["):  # IPv6 literal
        return host
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def canonicalize_url(url: str, base: str | None = None) -> str | None:
    """The identity form of a link, or None when it cannot identify a web page.

    Two links that reach the same page through different spellings or tracking
    parameters give the same result, so the store can merge copies by link. The
    result is for comparison only: it may not be a form the publisher serves.
    """
    parts = _absolute(url, base)
    if parts is None:
        return None
    scheme = parts.scheme.lower()
    host = _idna_host(parts.hostname or "")
    if host is None:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # urlsplit strips the brackets of an IPv6 literal
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"

    path = _normalize_pct(parts.path or "/", safe="/:@!$&'()*+,;=")
    path = _remove_dot_segments(path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    pairs = [
        (_normalize_pct(name, safe="!$'()*+,;:@/?"),
         None if value is None else _normalize_pct(value, safe="!$'()*+,;=:@/?"))
        for name, value in _split_query(parts.query)
        if not is_tracking_param(_raw_name(name), host)
    ]
    pairs.sort(key=lambda pair: (pair[0], "" if pair[1] is None else pair[1], pair[1] is None))
    return urlunsplit((scheme, netloc, path, _join_query(pairs), ""))


def clean_link(url: str, base: str | None = None) -> str | None:
    """The publisher's own link for publishing: absolute, minus tracking parameters.

    Parameter order, case, trailing slashes and fragments are kept exactly, because
    the publisher's server decides what they mean. Characters that are never valid in
    a URL (spaces, non-ASCII) are percent-encoded so feed readers accept the link.
    A fragment made only of tracking parameters (``#utm_source=x``) is dropped.
    """
    parts = _absolute(url, base)
    if parts is None:
        return None
    host = parts.hostname or ""
    pairs = [
        pair for pair in _split_query(parts.query)
        if not is_tracking_param(_raw_name(pair[0]), host)
    ]
    query = _join_query(pairs)
    fragment = parts.fragment
    if fragment and "=" in fragment:
        fragment_pairs = _split_query(fragment)
        if fragment_pairs and all(
            is_tracking_param(_raw_name(name), host) for name, _ in fragment_pairs
        ):
            fragment = ""
    netloc = parts.netloc
    if not netloc.isascii():
        # Keep the host as written but make it transmissible.
        idna = _idna_host(parts.hostname or "")
        if idna is None:
            return None
        userinfo = netloc.rpartition("@")[0]
        netloc = (userinfo + "@" if userinfo else "") + idna
        if parts.port is not None:
            netloc += f":{parts.port}"
    keep = "/:@!$&'()*+,;=?#[]~-._%"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            _quote_invalid(parts.path, keep),
            _quote_invalid(query, keep),
            _quote_invalid(fragment, keep),
        )
    )


def _quote_invalid(component: str, keep: str) -> str:
    """Percent-encode only characters that may never appear raw in a URL."""
    out: list[str] = []
    for char in component:
        if char in _UNRESERVED or char in keep:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)
