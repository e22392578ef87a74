"""Finding many term phrases in a text in one pass over its tokens.

Every distinct term (as a token tuple) of every topic is registered once in a
`PhraseIndex`, keyed by its first token (a single-token term also under its plural
spellings). Searching a text folds and tokenizes it once, intersects its token set
with the keys (a C-level set operation), and only at the few positions that start a
candidate does it compare the following tokens. The cost therefore grows with the
length of the text, not with the number of terms: 200 terms cost about what 2 do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from aggregator.core.match.text import (
    GAP_TOKEN_RE,
    fold,
    is_glued,
    is_soft_gap,
    plural_forms,
    token_set,
    tokens_of,
)

Phrase = tuple[str, ...]
Occurrence = tuple[int, int, int]  # phrase id, start and end in the folded text


class PhraseIndex:
    """A set of token phrases that can all be searched for at once."""

    def __init__(self) -> None:
        self._ids: dict[Phrase, int] = {}
        self._phrases: list[Phrase] = []
        self._last_forms: list[frozenset[str]] = []
        self._inner: list[frozenset[str]] = []  # the tokens between first and last
        # first token (or plural spelling of a one-token phrase) -> phrase ids
        self._starts: dict[str, list[int]] = {}
        self._keys: frozenset[str] = frozenset()

    def add(self, phrase: Phrase) -> int:
        """Register a phrase (idempotent) and return its id."""
        if not phrase:
            raise ValueError("empty phrase")
        existing = self._ids.get(phrase)
        if existing is not None:
            return existing
        pid = len(self._phrases)
        self._ids[phrase] = pid
        self._phrases.append(phrase)
        forms = plural_forms(phrase[-1])
        self._last_forms.append(frozenset(forms))
        self._inner.append(frozenset(phrase[1:-1]))
        for key in forms if len(phrase) == 1 else (phrase[0],):
            self._starts.setdefault(key, []).append(pid)
        self._keys = frozenset(self._starts)
        return pid

    def phrase(self, pid: int) -> Phrase:
        return self._phrases[pid]

    def __len__(self) -> int:
        return len(self._phrases)

    def search(self, fields: Iterable[tuple[str, str]]) -> dict[int, list[str]]:
        """Map each phrase id found to the fields (in given order) it was found in."""
        found: dict[int, list[str]] = {}
        for field, text in fields:
            if not text:
                continue
            for pid in self.search_text(text):
                where = found.setdefault(pid, [])
                if not where or where[-1] != field:
                    where.append(field)
        return found

    def may_occur(self, text: str) -> bool:
        """Whether a phrase may occur in `text`: all its words do (no phrase compared)."""
        folded = fold(text)
        return bool(self._candidates(folded, tokens_of(folded)))

    def search_text(self, text: str) -> set[int]:
        """The ids of the phrases that occur in `text` as whole words."""
        folded = fold(text)
        tokens = tokens_of(folded)
        candidates = self._candidates(folded, tokens)
        if not candidates:
            return set()
        # Stop at the end of the last token: a trailing run of punctuation would cost
        # quadratic time (see GAP_TOKEN_RE).
        end = folded.rfind(tokens[-1]) + len(tokens[-1])
        gaps = [gap for gap, _ in GAP_TOKEN_RE.findall(folded, 0, end)]
        return {pid for pid, _, _ in self._starts_in(tokens, gaps, candidates, first_only=True)}

    def occurrences(self, folded: str, wanted: frozenset[int] | None) -> list[Occurrence]:
        """Every occurrence of the `wanted` phrases (None: all) in `folded` (text already
        folded), with its span (for locating a hit and quoting around it)."""
        tokens = tokens_of(folded)
        candidates = self._candidates(folded, tokens)
        if not candidates:
            return []
        end = folded.rfind(tokens[-1]) + len(tokens[-1])  # see search_text
        pairs = GAP_TOKEN_RE.findall(folded, 0, end)
        gaps = [gap for gap, _ in pairs]
        # where each gap and each token ends: token i spans ends[2i] to ends[2i + 1]
        ends = list(itertools.accumulate(map(len, itertools.chain.from_iterable(pairs))))
        found = []
        for pid, first, last in self._starts_in(tokens, gaps, candidates, first_only=False):
            if wanted is None or pid in wanted:
                found.append((pid, ends[2 * first], ends[2 * last + 1]))
        return found

    def _candidates(self, folded: str, tokens: list[str]) -> set[str]:
        """The tokens of the text that start a phrase whose other words all occur in the
        text too: a common first word ("primary" of "primary progressive multiple
        sclerosis") costs no scan of the text unless the rest of its phrase is there."""
        keys = self._keys.intersection(tokens)
        if not keys:
            return keys
        present = token_set(folded)
        return {
            key
            for key in keys
            if any(
                len(self._phrases[pid]) == 1
                or (self._inner[pid] <= present and not self._last_forms[pid].isdisjoint(present))
                for pid in self._starts[key]
            )
        }

    def _starts_in(
        self,
        tokens: list[str],
        gaps: list[str],
        candidates: frozenset[str] | set[str],
        first_only: bool,
    ) -> Iterator[tuple[int, int, int]]:
        """(phrase id, first token, last token) of each occurrence; with `first_only`,
        a phrase is reported once."""
        reported: set[int] = set()
        starts = self._starts
        for i, token in enumerate(tokens):
            if token not in candidates:
                continue
            if i and is_glued(tokens[i - 1], gaps[i], token):
                continue  # "CD" must not start inside "CD19"
            for pid in starts[token]:
                if first_only and pid in reported:
                    continue
                if self._matches_at(pid, tokens, gaps, i):
                    reported.add(pid)
                    yield pid, i, i + len(self._phrases[pid]) - 1

    def _matches_at(self, pid: int, tokens: list[str], gaps: list[str], i: int) -> bool:
        phrase = self._phrases[pid]
        last = len(phrase) - 1
        end = i + last
        if end >= len(tokens):
            return False
        for j in range(1, last + 1):
            if not is_soft_gap(gaps[i + j]):
                return False  # "CAR. T" or "CAR (T" are not "CAR-T"
            token = tokens[i + j]
            if token != phrase[j] and (j != last or token not in self._last_forms[pid]):
                return False
        after = end + 1
        if after < len(tokens) and is_glued(tokens[end], gaps[after], tokens[after]):
            # The word goes on ("CAR-T2"), unless it is a plural "s" after digits: "CD19s".
            following = after + 1
            return tokens[after] == "s" and (
                following >= len(tokens)
                or not is_glued(tokens[after], gaps[following], tokens[following])
            )
        return True
