"""The store side of the curator's actions and of the webhook queue, on SQLite and
PostgreSQL: the demo's sample feeds polled by the real CLI into each engine."""

from __future__ import annotations

from pathlib import Path

from aggregator import clock
from aggregator.config import load_config
from aggregator.run.cycle import merge_policy
from aggregator.store import open_store
from tests.conftest import run_cli
from tests.liveserver import demo_config

TOPIC = "car-t-lupus"


def test_hide_pin_survive_a_merge_and_the_webhook_queue_delivers_once(
    tmp_path: Path, store_url: str
) -> None:
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config), env={"AGGREGATOR_STORAGE_URL": store_url})
    store = open_store(store_url)
    try:
        stories = store.topic_stories(TOPIC, 50)
        ids = [s.primary.item_id for s in stories]
        version = store.topic_version(TOPIC)

        store.curate(TOPIC, ids[-1], "pin")
        store.curate(TOPIC, ids[1], "hide")
        shown = [s.primary.item_id for s in store.topic_stories(TOPIC, 50)]
        assert shown == [ids[-1]] + [i for i in ids[:-1] if i != ids[1]]
        assert store.topic_story_count(TOPIC) == len(ids) - 1
        assert store.topic_version(TOPIC) == version + 2  # each action re-renders the feeds
        assert [s.primary.item_id for s in store.topic_stories(TOPIC, 2, offset=1)] == shown[1:3]

        # The hidden story merged into another: the action follows its copy.
        store.merge_stories(ids[2], ids[1], merge_policy(load_config(config)))
        assert ids[2] not in [s.primary.item_id for s in store.topic_stories(TOPIC, 50)]
        [hidden] = [c for c in store.curated_stories(TOPIC) if c.action == "hide"]
        assert hidden.item_id == ids[1]
        assert store.uncurate(TOPIC, ids[2], "hide") == 1  # undone through either copy
        assert store.uncurate(TOPIC, ids[2], "hide") == 0
        store.curate(TOPIC, ids[-1], "hide")  # replaces the pin
        assert [c.action for c in store.curated_stories(story_id=stories[-1].story_id)] == ["hide"]

        # Webhooks: the stories matched just now are new to a topic seen for the first time.
        queued, cursor = store.new_topic_stories(TOPIC)
        assert {s.story_id for s in queued} == {
            s.story_id for s in store.topic_stories(TOPIC, 50)
        }  # the hidden one is not sent
        assert store.queue_deliveries(TOPIC, {s.story_id: "{}" for s in queued}, cursor) == len(
            queued
        )
        assert store.new_topic_stories(TOPIC)[0] == []  # each story is queued once
        claimed = store.claim_deliveries([TOPIC], lease=60)
        assert len(claimed) == len(queued)
        assert store.claim_deliveries([TOPIC], lease=60) == []  # held while being sent
        first, *rest = claimed
        store.record_delivery(first, "HTTP 500", retry_at=clock.now() - 1)
        for each in rest:
            store.record_delivery(each, None, None)
        [again] = store.claim_deliveries([TOPIC], lease=60)
        assert again.story_id == first.story_id and again.attempts == 1
        store.record_delivery(again, "HTTP 500", retry_at=None)  # given up
        status = store.webhook_status()[TOPIC]
        assert (status.pending, status.delivered, status.failed) == (0, len(rest), 1)
        assert status.last_error == "HTTP 500" and status.last_delivered is not None
    finally:
        store.close()
