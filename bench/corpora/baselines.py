"""The textbook baselines each bench scores in the same run as the service.

Stories: TF-IDF (scikit-learn, sublinear tf, English stop words) fitted on the corpus,
cosine over title + lead, single-link clustering of pairs at or above a threshold that
were published within a few days of each other. Relevance: the curator's terms as bare
case-insensitive whole-word regexes over title, summary and body (with boilerplate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from bench.corpora.corpus import Item
from bench.corpora.scoring import single_link


def tfidf_stories(items: Sequence[Item], threshold: float, days: float) -> dict[str, str]:
    """Item id -> cluster label, by single-link over close, similar pairs."""
    if not items:
        return {}
    texts = [f"{item.title}\n{item.summary}" for item in items]
    vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
    close = np.triu(cosine_similarity(vectors) >= threshold, k=1)
    window = timedelta(days=days)
    linked = [
        (items[i].id, items[j].id)
        for i, j in zip(*np.nonzero(close), strict=True)
        if abs(items[i].published - items[j].published) <= window
    ]
    return single_link((item.id for item in items), linked)


def term_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive regex for the terms as whole words (no variants, no plurals)."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def keyword_hits(item: Item, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(where, matched text) for every part of the item the pattern occurs in."""
    return [
        (where, found.group(0))
        for where, text in item.segments()
        if (found := pattern.search(text))
    ]


def keyword_topics(
    items: Sequence[Item], topic_terms: Mapping[str, Sequence[str]]
) -> dict[str, set[str]]:
    """Topic -> ids of the items whose text holds any of its terms."""
    patterns = {topic: term_pattern(terms) for topic, terms in topic_terms.items()}
    return {
        topic: {item.id for item in items if keyword_hits(item, pattern)}
        for topic, pattern in patterns.items()
    }
