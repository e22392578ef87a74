"""`aggregator subscriptions`: the WebSub subscriptions of the sources, as the hubs left
them (pending, active until when, denied and why); never their secrets."""

from __future__ import annotations

import argparse
import json


def cmd_subscriptions(args: argparse.Namespace) -> int:
    from aggregator.cli import _load, _open_for_reading, _when

    config = _load(args)
    store, _ = _open_for_reading(config)
    try:
        subs = store.subscriptions()
    finally:
        store.close()
    rows = [
        {
            "source": sub.source,
            "state": sub.state,
            "hub": sub.hub,
            "topic": sub.topic,
            "lease_seconds": sub.lease_seconds,
            "expires": _when(sub.expires_at),
            "updated": _when(sub.updated_at),
            "error": sub.error,
        }
        for sub in subs
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no WebSub subscriptions (no source's feed names a hub)")
    for row in rows:
        detail = f"until {row['expires']}" if row["state"] == "active" else row["error"] or ""
        print(f"{row['source']}: {row['state']} {detail} (hub {row['hub']}, topic {row['topic']})")
    return 0


def add_commands(command: object) -> None:
    """Register the WebSub commands with the CLI's `command(name, handler, help)`."""
    listing = command(  # type: ignore[operator]
        "subscriptions",
        cmd_subscriptions,
        "List the sources' WebSub subscriptions: hub, topic, state and lease.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
