"""Folding and tokenizing text so terms can be compared token by token.

Curators write "CAR-T" and expect it to find "CAR T", "car‑t" (U+2011) and "CAR-Ts",
but never "cart" or "McCarthy". Regexes per term get this wrong in both directions and
cost grows with the number of terms, so instead every text and every term goes
through the same two steps:

1. `fold()`: one canonical spelling. Leftover HTML entities and tags are undone (the
   normalize stage should have done it, but a miss must not hide a term), then NFKC,
   invisible characters (soft hyphen, zero-width space/joiners) vanish, case is
   folded, diacritics are removed (é → e, ø → o, ß → ss) and possessive "'s" is
   dropped ("Crohn's" → "crohn").
2. `tokenize()`: runs of letters and runs of digits are the tokens, so a letter/digit
   change splits a word ("CD19" → cd 19, the same as "CD-19" and "CD 19"). Each
   Chinese/Japanese character is a token of its own, since those scripts do not
   separate words. Each token carries the *gap* before it: the characters skipped
   since the previous token. The matcher only lets a term's parts be joined by a
   soft gap (whitespace, any hyphen/dash, an apostrophe, or nothing), so "CAR. T"
   or "CAR (T" never read as "CAR-T".
"""

from __future__ import annotations

import bisect
import functools
import html
import re
import unicodedata

# Scripts written without spaces between words: each character is its own token, and
# adjacent characters are not "glued" (a term may start or end between them).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"


def _mark_class() -> str:
    """Combining marks of the BMP as a regex class body.

    Python's `\\w` does not include combining marks, so without this a Hindi or Thai
    word would be cut at every vowel sign. (Latin diacritics are removed by `fold()`
    before tokenizing; these are the marks that are part of other scripts' letters.)
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


_MARKS = _mark_class()
_LETTER = rf"[^\W\d_{_CJK}]"
_TOKEN = rf"[{_CJK}]|\d+|{_LETTER}+(?:[{_MARKS}]+{_LETTER}*)*"

TOKEN_RE = re.compile(_TOKEN)
"""Finds the tokens of folded text (fast path: no gaps)."""

GAP_TOKEN_RE = re.compile(rf"([\W_]*+)({_TOKEN})")
"""Finds (gap, token) pairs of folded text; yields the same tokens as TOKEN_RE.

The gap is possessive so a long run of punctuation is scanned once, not once per
starting position; search it only up to the end of the last token (see
`PhraseIndex.search_text`), since a trailing run with no token after it would still be
rescanned from every position.
"""

HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"
APOSTROPHES = "'\u2019\u02bc\uff07"
SOFT_GAP_CHARS = " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000" + HYPHENS + APOSTROPHES
"""Characters that may join the parts of a term: "CAR T" == "CAR-T" == "CAR–T"."""

# Vanish entirely: a soft hyphen only marks where a word *may* break ("lu\xadpus" is
# "lupus"); zero-width characters are invisible layout hints.
_VANISH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"))
# Letters that are distinct code points rather than letter + combining mark, so NFD
# leaves them alone. Applied after casefold, so only lowercase forms are needed.
_LETTER_FOLDS = {
    ord("ø"): "o", ord("đ"): "d", ord("ð"): "d", ord("ł"): "l", ord("ı"): "i",
    ord("æ"): "ae", ord("œ"): "oe", ord("þ"): "th", ord("ħ"): "h", ord("ŧ"): "t",
}
_SPECIAL = {**{chr(cp): "" for cp in _VANISH}, **{chr(cp): v for cp, v in _LETTER_FOLDS.items()}}
# A regex finds these far faster than str.translate, which looks up every character.
_SPECIAL_RE = re.compile("[" + re.escape("".join(_SPECIAL)) + "]")
_DIACRITICS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_POSSESSIVE_RE = re.compile(rf"(?<=[^\W_])[{APOSTROPHES}]s\b")

# Only real HTML tag names: "p < 0.05" or "<CD19>" in prose must survive.
_INLINE_TAGS = "a|abbr|b|bdi|bdo|cite|code|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small|" \
    "span|strike|strong|sub|sup|time|tt|u|var|wbr"
_BLOCK_TAGS = "address|article|aside|blockquote|br|caption|dd|div|dl|dt|figcaption|figure|" \
    "footer|h[1-6]|header|hr|iframe|img|li|main|nav|ol|p|picture|pre|section|source|" \
    "table|tbody|td|tfoot|th|thead|tr|ul|video|audio"
_INLINE_TAG_RE = re.compile(rf"</?(?:{_INLINE_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_TAG_RE = re.compile(rf"<!--.*?-->|</?(?:{_BLOCK_TAGS})(?:\s[^<>]*)?/?>",
                           re.IGNORECASE | re.DOTALL)


def strip_leftover_html(text: str) -> str:
    """Undo entities and tags the normalize stage missed.

    Inline tags vanish ("CAR-<b>T</b>" → "CAR-T") while block tags become a space
    ("lupus<br>nephritis" must not become one word). Entities are decoded first, so a
    double-escaped "&lt;b&gt;" is also removed.
    """
    for _ in range(2):  # feeds that double-escape give "&amp;#8209;" for U+2011
        if "&" not in text:
            break
        text = html.unescape(text)
    if "<" in text:
        text = _BLOCK_TAG_RE.sub(" ", _INLINE_TAG_RE.sub("", text))
    return text


@functools.lru_cache(maxsize=64)
def fold(text: str) -> str:
    """Return the canonical spelling used for comparing terms with text.

    Cached: an item's text is folded to find its terms and again to locate them."""
    if "&" in text or "<" in text:
        text = strip_leftover_html(text)
    if text.isascii():  # the common case: skip the Unicode work
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        if _SPECIAL_RE.search(text):
            text = _SPECIAL_RE.sub(lambda match: _SPECIAL[match.group()], text)
        text = _DIACRITICS_RE.sub("", unicodedata.normalize("NFD", text))
    if "'" in text or "\u2019" in text or "\u02bc" in text:
        text = _POSSESSIVE_RE.sub("", text)
    return text


_CHUNK_RE = re.compile(r"\S+")


class Aligned:
    """Folded text that remembers where each of its words came from in the original,
    so a hit found in the folded text can be quoted and its capitals read as written.

    When folding changed the length (a possessive dropped, "ß" → "ss"), each
    whitespace-separated chunk is folded on its own (folding never crosses whitespace),
    so positions map back exactly at chunk starts and ends.
    """

    __slots__ = ("original", "folded", "_folded_starts", "_folded_ends", "_starts", "_ends")

    def __init__(self, text: str) -> None:
        self.original = text
        pieces: list[str] = []
        self._folded_starts: list[int] = []
        self._folded_ends: list[int] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        folded = fold(text)
        if len(folded) == len(text):
            # The common case: folding kept every position (lowercasing, dropping an
            # accent). A text where one character grows and another vanishes would be
            # off by a character here: acceptable for quoting and reading capitals.
            self.folded = folded
            return
        position = length = 0
        for chunk in _CHUNK_RE.finditer(text):
            gap = text[position:chunk.start()]
            folded = fold(chunk.group())
            pieces += [gap, folded]
            length += len(gap)
            self._folded_starts.append(length)
            self._starts.append(chunk.start())
            self._ends.append(chunk.end())
            length += len(folded)
            self._folded_ends.append(length)
            position = chunk.end()
        self.folded = "".join(pieces)

    def original_position(self, position: int, end: bool = False) -> int:
        """The position in the original text of a position in the folded text; with
        `end`, the end of a word maps to the end of the original word ("CAR-<b>T</b>")."""
        k = bisect.bisect_right(self._folded_starts, position - end) - 1
        if k < 0:  # also the fast path, where positions are the same
            return position
        if end and position == self._folded_ends[k]:
            return self._ends[k]
        return min(self._starts[k] + position - self._folded_starts[k], self._ends[k])


@functools.lru_cache(maxsize=64)
def tokens_of(folded: str) -> list[str]:
    """The tokens of folded text (cached like `fold`; do not mutate the list)."""
    return TOKEN_RE.findall(folded)


@functools.lru_cache(maxsize=64)
def token_set(folded: str) -> frozenset[str]:
    """The distinct tokens of folded text (cached like `fold`)."""
    return frozenset(tokens_of(folded))


def tokenize(text: str) -> list[str]:
    """Fold then split text into tokens (for terms; the matcher also needs the gaps)."""
    return TOKEN_RE.findall(fold(text))


def is_cjk(char: str) -> bool:
    """True for a character of a script that does not separate words with spaces."""
    cp = ord(char)
    return (
        0x3040 <= cp <= 0x30FF
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x2A6DF
    )


def is_soft_gap(gap: str) -> bool:
    """Whether two tokens separated by `gap` may be parts of one term."""
    return not gap.strip(SOFT_GAP_CHARS)


def is_glued(previous: str, gap: str, token: str) -> bool:
    """Whether `token` continues the word of `previous` (a letter/digit change: "CD19").

    A term must not start or end inside such a word, so "CD" does not find "CD19".
    Adjacent CJK characters are not glued: there any character may start a word.
    """
    return gap == "" and not is_cjk(previous[-1]) and not is_cjk(token[0])


_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")


def plural_forms(token: str) -> tuple[str, ...]:
    """Spellings accepted for a term's last token: itself and its English plurals.

    "s" always ("CAR-Ts"), "es" after a sibilant ("viruses"), and "y" → "ies" after a
    consonant ("antibodies"). Possessives are handled by `fold()`, which drops "'s".
    Digits and CJK have no plural.
    """
    if not token.isalpha() or is_cjk(token[0]):
        return (token,)
    forms = [token, token + "s"]
    if token.endswith(_SIBILANT_ENDINGS):
        forms.append(token + "es")
    if len(token) > 2 and token[-1] == "y" and token[-2] not in "aeiou":
        forms.append(token[:-1] + "ies")
    return tuple(forms)


_LAST_WORD_RE = re.compile(r"([^\W\d_]+)[\s\-\u2010\u2011]+$")
_NEAR = 40  # characters before a position that can hold the word right before it


def word_before(text: str, position: int) -> str:
    """The word right before `position`, lowercased ("onshore" in "an onshore wind
    farm"), or "" when punctuation or a number comes first ("Sailing: offshore ...")."""
    match = _LAST_WORD_RE.search(text[max(0, position - _NEAR) : position])
    return match.group(1).lower() if match else ""
