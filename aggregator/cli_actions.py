"""`aggregator hide`, `pin`, `unhide`, `unpin`: the curator's actions on a topic's
stories from the command line (the page offers the same, see `aggregator.web.curator`),
and the line `explain` prints for them."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from aggregator.cli_stories import _item

if TYPE_CHECKING:
    from aggregator.models import StoredItem
    from aggregator.store import SQLStore

#: What each command does: (store action, undo?, what it says it did).
COMMANDS = {
    "hide": ("hide", False, "hidden from {topic}: its feeds no longer show it"),
    "pin": ("pin", False, "pinned in {topic}: its feeds show it first"),
    "unhide": ("hide", True, "shown again in {topic}"),
    "unpin": ("pin", True, "no longer pinned in {topic}"),
}
PAST = {"hide": "hidden", "pin": "pinned"}


def cmd_curate(args: argparse.Namespace) -> int:
    from aggregator.cli import _load, _open_pipeline
    from aggregator.store.curation import NotInTopic

    config = _load(args)
    if args.topic not in {topic.slug for topic in config.topics}:
        print(f"no topic {args.topic!r} in the config", file=sys.stderr)
        return 2
    action, undo, done = COMMANDS[args.command]
    store, _ = _open_pipeline(config)
    try:
        item = _item(store, args.ref)
        if item is None:
            return 1
        if undo:
            if not store.uncurate(args.topic, item.item_id, action):
                print(f"{item.title!r} was not {PAST[action]} in {args.topic}")
                return 0
        else:
            try:
                store.curate(args.topic, item.item_id, action)
            except NotInTopic:
                print(f"{item.title!r} is not in topic {args.topic}", file=sys.stderr)
                return 1
        print(f"{item.title!r}: " + done.format(topic=args.topic))
    finally:
        store.close()
    return 0


def explain_curation(store: SQLStore, item: StoredItem) -> None:
    """The `explain` lines for the curator's actions on the item's story."""
    for curated in store.curated_stories(story_id=item.story_id):
        print(
            f"  topic {curated.topic}: {PAST[curated.action]} by the curator "
            f"(on {curated.item_id}; `aggregator un{curated.action}` undoes it)"
        )


def add_commands(command: object) -> None:
    """Register the action commands with the CLI's `command(name, handler, help)`."""
    helps = {
        "hide": "Hide a story from a topic's feeds and page.",
        "pin": "Pin a story to the top of a topic's feeds and page.",
        "unhide": "Show a hidden story in a topic again.",
        "unpin": "Unpin a story in a topic.",
    }
    for name, help_text in helps.items():
        sub = command(name, cmd_curate, help_text)  # type: ignore[operator]
        sub.add_argument("ref", metavar="STORY", help="item id, story id, or article URL")
        sub.add_argument("--topic", required=True, metavar="SLUG", help="the topic's slug")
