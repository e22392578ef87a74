"""Text cleaning for near-duplicate detection.

The same press release reaches us through several wires and sites, each wrapping it
differently: a wire name in the title, a dateline with a wire tag at the start of the
body, the company boilerplate, forward-looking statements and contact blocks at the
end. None of that says anything about *which* story it is, and datelines even differ
between copies of the same release (time zones, the newsroom's own format). So the
wrapping is removed before shingling; what is left is the release's own words.

Everything here is pure string processing with fixed rules, so a fingerprint computed
today matches one computed for the same text in another process or next year (as long
as :data:`TEXT_VERSION` does not change).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "LEAD_CHARS",
    "TEXT_VERSION",
    "clean_lead",
    "clean_title",
    "dedupe_text",
    "RELEASE_HEAD_CHARS",
    "is_release",
    "tokens",
]

#: Bumped whenever a rule below changes in a way that changes tokens for some text.
TEXT_VERSION = 1
#: How much of the cleaned body is used. The opening paragraph carries the news;
#: later paragraphs are where copies diverge (trimmed teasers, added quotes).
LEAD_CHARS = 600
#: Raw characters looked at before cleaning, so a huge content body costs nothing.
#: Enough for a long dateline, a kicker and link/credit noise before 600 clean ones.
RAW_CHARS = 1500

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = (
    rf"(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}\s+{_MONTH}\.?,?\s+\d{{4}}|{_MONTH}\.?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
)
_DATE_RE = re.compile(_DATE)

# Wire and aggregator names as they appear in titles and datelines.
_WIRES = (
    r"(?:PR\s?Newswire(?:[- ][A-Za-z]+)*|Globe\s?Newswire|Business\s?Wire|ACCESSWIRE|Accesswire"
    r"|EQS[- ]News|Newsfile(?: Corp\.?)?|CNW|Canada NewsWire|Cision|PRWeb|EIN Presswire"
    r"|Fierce\s?Biotech|Fierce\s?Pharma|Endpoints(?: News)?|BioSpace|STAT(?: News)?|Reuters"
    r"|Yahoo(?:!)? Finance|MarketScreener|Morningstar|Nasdaq(?:\.com)?|Benzinga"
    r"|Global Biotech News|Company Announcement|Press Release|News Release)"
)
_TITLE_PREFIX_RE = re.compile(
    r"^\s*(?:\[[^\]]{1,40}\]\s*|(?:press release|news release|pressemitteilung|update[d]?"
    r"|correcting and replacing|correction|breaking|exclusive)\s*[:\-–—|]\s*)",
    re.IGNORECASE,
)
_TITLE_WIRE_TAG_RE = re.compile(
    r"\s*(?:/\s*PRNewswire(?:-[A-Za-z ]+)?\s*/|\(\s*GLOBE NEWSWIRE\s*\)|--\s*\(BUSINESS WIRE\)\s*--"
    r"|\(\s*BUSINESS WIRE\s*\))\s*",
    re.IGNORECASE,
)
_TITLE_SUFFIX_RE = re.compile(rf"\s*(?:[-–—|:]\s*{_WIRES}|\(\s*{_WIRES}\s*\))\s*$", re.IGNORECASE)
# "... | Fierce Biotech": a short, number-free last segment after a pipe is a site name.
_TITLE_PIPE_SITE_RE = re.compile(r"\s+\|\s+(?:[^\s\d|]+\s*){1,4}$")

# Wire tags that end a dateline: "SHANGHAI, Feb. 10, 2025 /PRNewswire/ --".
_WIRE_TAG_RE = re.compile(
    r"(?:/\s*PRNewswire(?:-[A-Za-z ]+)?\s*/|\(\s*GLOBE NEWSWIRE\s*\)"
    r"|-{1,2}\s*\(\s*BUSINESS WIRE\s*\)\s*-{1,2}|/\s*ACCESSWIRE\s*/(?:\s*" + _DATE + r"\s*/)?"
    r"|/\s*CNW\s*/|\(\s*Newsfile Corp\.?\s*\)|/\s*EINPresswire\.com\s*/|\((?:Reuters|AP)\)"
    r"|\(\s*Nasdaq\s*\)\s*-{1,2}|/\s*(?:PRNewswire|PRWeb)\s*/)",
    re.IGNORECASE,
)
_DASH_RE = re.compile(r"\s*(?:--|—|–|\s-\s)\s*")
_LEADING_DASHES_RE = re.compile(r"^[\s\-–—:|/]+")
_PLACE_WORD_RE = re.compile(r"^(?:[A-Z][\w.'’&-]*|[A-Z&.]+|and|of|de|la|le|/|&)$")

# Where the release proper ends and boilerplate begins.
_BOILERPLATE_RE = re.compile(
    r"(?:^|(?<=[\s.]))(?:"
    r"About (?:the )?[A-Z][^\n]{0,80}\n"
    r"|Forward[- ]Looking Statements?\b|Cautionary (?:Note|Statement)s?\b"
    r"|Safe Harbou?r Statement|Special Note Regarding Forward"
    r"|SOURCE\s+[A-Z]|View original content|View source version|To view the original version"
    r"|Media (?:and|&) Investor Contacts?|Investor (?:and|&) Media Contacts?"
    r"|Media Contacts?\b|Investor Contacts?\b|Investor Relations Contacts?\b|Contacts?\s*:"
    r"|For (?:further|more) information,? (?:please )?contact"
    r"|The post .{0,300}? appeared first on|Continue reading\b|Read more\s*(?:»|›|\.\.\.|…)"
    r"|Logo\s*-\s*https?://|Photo\s*-\s*https?://|###"
    r")"
)
# "About CARsgen Therapeutics Holdings Ltd. CARsgen is ..." once line breaks are gone:
# a heading is recognised because the name is repeated right after it.
_ABOUT_FLAT_RE = re.compile(
    r"(?<=[\s.])About (?:the )?([A-Z][\w&’'-]+)(?:\s+(?:\([^)]{1,20}\)|[A-Z0-9][\w&’'.,-]*)){0,6}"
    r"\s+(?=\1\b)"
)
_NOISE_RES = [
    re.compile(r"Photo (?:by|courtesy of) [^\n.]{1,80}? on (?:Unsplash|Pexels|Pixabay)\.?", re.I),
    re.compile(r"\((?:Photo|Image|Graphic|Video)(?: credit)?:[^)]{0,200}\)", re.I),
    re.compile(r"(?m)^(?:Photo|Image|Credit|Caption)s?:[^\n]{0,200}$", re.I),
    re.compile(r"https?://\S+|www\.\S+"),
    re.compile(r"\[(?:…|\.\.\.)\]|\((?:…|\.\.\.)\)"),
]
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_ELLIPSES = ("[…]", "[...]", "(…)", "(...)", "…", "...")
_PAREN_RE = re.compile(r"\s*\([^()]{0,80}\)")
_POSSESSIVE_RE = re.compile(r"(?<=\w)['’]s\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[./][a-z0-9]+)*")
_STOPWORDS = frozenset({"a", "an", "the"})
_TRANSLATE = str.maketrans(
    {
        "’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " ", "\u2009": " ",
        "\u200b": "", "\u2011": "-", "\u2010": "-", "®": " ", "™": " ", "©": " ",
    }
)


def _unify(text: str) -> str:
    """NFKC plus typographic quotes and spaces, so copies typed differently agree."""
    return unicodedata.normalize("NFKC", text or "").translate(_TRANSLATE)


def clean_title(title: str) -> str:
    """The title without wire names, "PRESS RELEASE:" prefixes or site-name suffixes."""
    title = " ".join(_unify(title).split())
    for _ in range(3):
        before = title
        title = _TITLE_PREFIX_RE.sub("", title)
        title = _TITLE_WIRE_TAG_RE.sub(" ", title).strip()
        title = _TITLE_SUFFIX_RE.sub("", title)
        title = _TITLE_PIPE_SITE_RE.sub("", title)
        if title == before:
            break
    return title.strip(" -–—|:")


def _looks_like_place(text: str) -> bool:
    """True for "SOUTH SAN FRANCISCO, Calif." or "Shanghai, China / Global": a dateline
    made of capitalized place words, so a real sentence is never cut."""
    words = [w for w in re.split(r"[\s,]+", text.strip(" ,")) if w]
    if not words or len(words) > 9:
        return False
    if not all(_PLACE_WORD_RE.match(word) for word in words):
        return False
    # A bare company name ("Kyverna Therapeutics") is not a dateline: require a comma,
    # a slash or an all-capitals city name.
    return "," in text or "/" in text or any(w.isupper() and len(w) >= 3 for w in words)


def _strip_dateline(text: str) -> str:
    """Remove a leading dateline ("BOSTON, June 2, 2025 (GLOBE NEWSWIRE) --")."""
    for _ in range(3):
        head = text[:260]
        tag = _WIRE_TAG_RE.search(head)
        if tag is not None and tag.start() <= 200:
            text = _LEADING_DASHES_RE.sub("", text[tag.end():])
            continue
        dash = _DASH_RE.search(text[:160])
        if dash is None or dash.start() == 0:
            break
        prefix = text[: dash.start()]
        place = _DATE_RE.sub(" ", prefix)
        place = re.sub(r"\s*\([^)]{0,40}\)", " ", place)
        dated_place = _DATE_RE.search(prefix) and (
            not place.strip(" ,/") or _looks_like_place(place)
        )
        if not (dated_place or _looks_like_place(prefix)):
            break
        text = text[dash.end():]
    return text


#: How much of a text's opening `is_release` reads.
RELEASE_HEAD_CHARS = 260


def is_release(text: str) -> bool:
    """True when `text` opens like an issuer's release (a wire's dateline tag, or a
    dated dateline such as "BOSTON, June 2, 2026 --"): the original that coverage
    rewrites, which a story shows first and lists apart from the articles about it."""
    head = _unify((text or "")[:RELEASE_HEAD_CHARS]).lstrip()
    if _WIRE_TAG_RE.search(head):
        return True
    dash = _DASH_RE.search(head[:120])
    if not dash or dash.start() == 0:
        return False
    prefix = head[:dash.start()]
    words = [w.strip("/(),.") for w in prefix.split()]
    return bool(_DATE_RE.search(prefix)) and all(not w or not w[0].islower() for w in words)


def _drop_header_lines(text: str) -> str:
    """Drop short leading lines with no sentence in them: kickers ("Global Biotech
    News"), bylines, dates. They vary between sites and carry no story."""
    lines = text.split("\n")
    dropped = 0
    while len(lines) > 1 and dropped < 4:
        line = lines[0].strip()
        if line and (len(line) > 90 or line.endswith((".", "!", "?", ":", '"'))):
            break
        lines.pop(0)
        dropped += 1
    return "\n".join(lines)


def clean_lead(text: str, limit: int = LEAD_CHARS) -> str:
    """The release's own opening words: no kicker, dateline, boilerplate, links or
    photo credits, cut to `limit` characters at a word boundary."""
    text = _unify((text or "")[:RAW_CHARS])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for noise in _NOISE_RES:
        text = noise.sub(" ", text)
    if "@" in text:
        text = _EMAIL_RE.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n", text).strip()
    text = _drop_header_lines(text)
    text = _strip_dateline(text.strip())
    cut = len(text)
    window = text[: 2 * limit]  # boilerplate further on is cut off by `limit` anyway
    for pattern in (_BOILERPLATE_RE, _ABOUT_FLAT_RE):
        for match in pattern.finditer(window):
            if match.start() >= 40:
                cut = min(cut, match.start())
                break
    text = text[:cut]
    words = text.split()
    if words and len(text) < limit + 100 and words[-1].endswith(_ELLIPSES):
        # A feed teaser cut mid-word: the last word is a fragment that no copy shares.
        last = words.pop()  # "allo..." is the fragment itself
        if not last.strip(".…[]()") and words:
            words.pop()  # "investigator-initiated ...": the word before the dots
    text = " ".join(words)
    if len(text) > limit:
        text = text[:limit]
        space = text.rfind(" ")
        if space > limit // 2:
            text = text[:space]
    return text.strip()


def tokens(text: str) -> list[str]:
    """Lower-case word tokens for shingling.

    Short parentheticals ("(Nasdaq: CABA)", "(SLE)", "("the Company")") are dropped
    because some copies include them and some do not; hyphens split words so "CAR-T"
    and "CAR T" agree; "%" is spelled out so "45%" and "45 percent" agree.
    """
    text = _PAREN_RE.sub(" ", _unify(text))
    text = _POSSESSIVE_RE.sub("", text)
    text = text.replace("%", " percent ").replace("&", " and ").lower()
    return [tok for tok in _TOKEN_RE.findall(text) if tok not in _STOPWORDS]


def dedupe_text(title: str, lead: str) -> str:
    """The normalized text a fingerprint is built from: title tokens, a newline, lead
    tokens. Exposed so `aggregator explain` can show what two copies were compared on."""
    return " ".join(tokens(clean_title(title))) + "\n" + " ".join(tokens(clean_lead(lead)))
