"""Clustering and retrieval scores, as pure functions over plain mappings.

A clustering is a mapping item id -> cluster label (gold story or predicted story id);
both clusterings must cover the same items. Conventions where a ratio has nothing to
count: precision is 1.0 when nothing was predicted (no pair merged, no item kept), recall
is 1.0 when there was nothing to find; F1 is 0.0 when both are 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else 1.0


def clusters(labels: Mapping[str, str]) -> dict[str, set[str]]:
    """Cluster label -> its item ids."""
    result: dict[str, set[str]] = defaultdict(set)
    for item, label in labels.items():
        result[label].add(item)
    return dict(result)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(gold: Mapping[str, str], pred: Mapping[str, str]) -> PRF:
    """Precision/recall over item pairs: a pair is positive when both items share a cluster."""
    _same_items(gold, pred)
    both = Counter((gold[i], pred[i]) for i in gold)
    tp = sum(_pairs(n) for n in both.values())
    predicted = sum(_pairs(n) for n in Counter(pred.values()).values())
    actual = sum(_pairs(n) for n in Counter(gold.values()).values())
    return PRF(ratio(tp, predicted), ratio(tp, actual), tp, predicted - tp, actual - tp)


def bcubed(gold: Mapping[str, str], pred: Mapping[str, str]) -> PRF:
    """B-cubed (Bagga & Baldwin): per item, the share of its predicted cluster that is
    its gold cluster (precision) and of its gold cluster found with it (recall), averaged."""
    _same_items(gold, pred)
    if not gold:
        return PRF(1.0, 1.0)
    both = Counter((gold[i], pred[i]) for i in gold)
    gold_size, pred_size = Counter(gold.values()), Counter(pred.values())
    precision = sum(both[gold[i], pred[i]] / pred_size[pred[i]] for i in gold) / len(gold)
    recall = sum(both[gold[i], pred[i]] / gold_size[gold[i]] for i in gold) / len(gold)
    return PRF(precision, recall)


def split_stories(gold: Mapping[str, str], pred: Mapping[str, str]) -> dict[str, list[set[str]]]:
    """Gold stories spread over more than one predicted story -> their pieces."""
    pieces: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for item, story in gold.items():
        pieces[story][pred[item]].add(item)
    return {s: list(p.values()) for s, p in pieces.items() if len(p) > 1}


def wrong_merges(gold: Mapping[str, str], pred: Mapping[str, str]) -> dict[str, set[str]]:
    """Predicted stories holding more than one gold story -> their items."""
    return {
        label: items for label, items in clusters(pred).items() if len({gold[i] for i in items}) > 1
    }


def sibling_merges(
    gold: Mapping[str, str], pred: Mapping[str, str], siblings: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Merged pairs of items from different gold stories of one confusable-sibling set."""
    by_set = clusters({i: s for i, s in siblings.items() if s and i in pred})
    return sorted(
        (a, b)
        for members in by_set.values()
        for a, b in combinations(sorted(members), 2)
        if gold[a] != gold[b] and pred[a] == pred[b]
    )


def retrieval(relevant: Iterable[str], retrieved: Iterable[str]) -> PRF:
    """Precision/recall of one topic: the items kept against those a curator would keep."""
    relevant, retrieved = set(relevant), set(retrieved)
    tp = len(relevant & retrieved)
    return PRF(
        ratio(tp, len(retrieved)),
        ratio(tp, len(relevant)),
        tp,
        len(retrieved - relevant),
        len(relevant - retrieved),
    )


def single_link(items: Iterable[str], linked: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Connected components of the linked pairs (union-find); label = smallest member id."""
    parent = {item: item for item in items}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in linked:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {item: root(item) for item in parent}


def _same_items(gold: Mapping[str, str], pred: Mapping[str, str]) -> None:
    if gold.keys() != pred.keys():
        missing = sorted(set(gold) ^ set(pred))[:5]
        raise ValueError(f"gold and predicted clusterings cover different items: {missing}")
