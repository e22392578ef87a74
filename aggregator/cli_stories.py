"""`aggregator merge`, `split`, `redecide` and the story half of `explain A B`: a
curator's corrections of the story decision, recorded so later polls respect them."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregator.models import StoredItem
    from aggregator.store import SQLStore


def _item(store: SQLStore, ref: str) -> StoredItem | None:
    """The stored item `ref` names (id, link, or a story id: its primary), or None
    after saying so."""
    found = store.find_items(ref)
    exact = [item for item in found if item.item_id == ref]
    if exact or found:
        return (exact or found)[0]
    print(f"no stored item has id, story id or link {ref!r}", file=sys.stderr)
    return None


def cmd_merge(args: argparse.Namespace) -> int:
    from aggregator.cli import _load, _open_pipeline

    config = _load(args)
    store, pipeline = _open_pipeline(config)
    try:
        first, second = _item(store, args.ref), _item(store, args.other)
        if first is None or second is None:
            return 1
        story = store.merge_stories(first.item_id, second.item_id, pipeline.policy)
        print(f"merged: {first.title!r} and {second.title!r} are one story, {story}; "
              "later polls and `aggregator redecide` keep them together")
    finally:
        store.close()
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from aggregator.cli import _load, _open_pipeline

    config = _load(args)
    store, pipeline = _open_pipeline(config)
    try:
        item = _item(store, args.ref)
        if item is None:
            return 1
        rest = store.split_item(item.item_id, pipeline.policy)
        if rest == item.item_id:
            print(f"{item.title!r} is already a story of its own")
        else:
            print(f"split: {item.title!r} is a story of its own; the other copies stay in "
                  f"{rest}; it never joins them again")
    finally:
        store.close()
    return 0


def cmd_redecide(args: argparse.Namespace) -> int:
    from aggregator.cli import _load
    from aggregator.run.cycle import merge_policy
    from aggregator.store import open_store

    config = _load(args)
    store = open_store(config.storage_url())
    try:
        stories = store.redecide(merge_policy(config))
        print(f"decided every stored copy's story again: {stories} stories "
              "(curator decisions kept)")
    finally:
        store.close()
    return 0


def explain_pair(store: SQLStore, item: StoredItem, other: StoredItem, threshold: float) -> None:
    """Print every component of the story decision between two stored items."""
    from aggregator.core.dedupe import compare, stored_fingerprint
    from aggregator.core.dedupe.event import weigh_event

    mine, theirs = stored_fingerprint(item), stored_fingerprint(other)
    copy = compare(mine, theirs, threshold)
    event = weigh_event(mine.event, theirs.event, mine.anchors, theirs.anchors,
                        abs(item.published - other.published) / 3600, store.term_stats())
    same_story = "same story" if other.story_id == item.story_id else "different stories"
    print(f"  vs {other.source} {other.item_id} ({same_story}): {other.title}")
    print(f"    as a copy: {'yes' if copy.same else 'no'}: {copy.reason}")
    print(f"    as a report of the same event: {'yes' if event.same else 'no'}: "
          f"{event.describe()}")
    decided = store.story_decisions(item.item_id).get(other.item_id)
    if decided is not None:
        print(f"    curator: {'merged' if decided else 'split'} them (this decision wins)")


def add_commands(command: object) -> None:
    """Register the story commands with the CLI's `command(name, handler, help)`."""
    merge = command("merge", cmd_merge,  # type: ignore[operator]
                    "Record that two items' stories are one story, and merge them now.")
    merge.add_argument("ref", help="item id, story id, or article URL")
    merge.add_argument("other", help="another item id, story id, or article URL")
    split = command("split", cmd_split,  # type: ignore[operator]
                    "Record that an item is a story of its own, and take it out of its "
                    "story now.")
    split.add_argument("ref", help="item id or article URL")
    command("redecide", cmd_redecide,  # type: ignore[operator]
            "Decide every stored copy's story again with this version's rules, keeping "
            "the curator's decisions (runs by itself after an upgrade that needs it).")
