"""WebSub both ways, over loopback against the spec's hub in tests/websubhub.py.

In: a source whose feed names a hub is subscribed, the hub's verification answered,
signed pushes stored exactly as polls are (same stories, same topic), unsigned or
badly signed ones refused, the lease renewed, polling slowed to the fallback pace.
Out: with [server] hub the topic feeds advertise the hub and the service pings it when
a topic changes, so a subscriber of our feed gets the new story pushed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from lxml import etree

from aggregator import clock
from aggregator.config import ConfigError, load_config
from aggregator.models import Subscription
from aggregator.run.websub import signature_valid
from aggregator.sources.hublinks import HubLinks, find_hub
from aggregator.sources.parse import parse_feed, parse_with_feedparser
from aggregator.store import open_store
from tests.conftest import run_cli
from tests.feedcheck import feed_problems
from tests.feedserver import FeedServer, Route
from tests.liveserver import free_port, serve, story_feed
from tests.websubhub import running_hub, running_subscriber, write_websub_config

ATOM = "{http://www.w3.org/2005/Atom}"
HUB = "https://hub.example/"
ATOM_FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><id>urn:x</id>
<updated>2026-11-01T12:00:00Z</updated>
<link rel="hub" href="{HUB}"/><link rel="self" href="https://wire.example/feed.atom"/>
<link rel="alternate" href="https://wire.example/"/>
<entry><id>urn:1</id><title>One</title><updated>2026-11-01T12:00:00Z</updated></entry>
</feed>""".encode()


def wait_for(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        found = check()
        if found:
            return found
        clock.sleep(0.02)
    raise AssertionError("timed out")


# -- discovery ----------------------------------------------------------------------------


def test_hub_and_topic_are_read_from_atom_rss_json_and_the_link_header() -> None:
    atom = parse_feed(ATOM_FEED, "https://wire.example/x", "application/atom+xml")
    assert (atom.hubs, atom.self_url) == ([HUB], "https://wire.example/feed.atom")
    assert parse_with_feedparser(ATOM_FEED, "https://wire.example/x").hubs == [HUB]
    rss = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        b"<channel><title>W</title><link>https://wire.example/</link>"
        b'<atom:link rel="hub" href="https://hub.example/"/>'
        b'<atom:link rel="self" href="https://wire.example/rss"/>'
        b"<item><guid>1</guid><title>One</title></item></channel></rss>"
    )
    parsed = parse_feed(rss, "https://wire.example/x", "application/rss+xml")
    assert (parsed.hubs, parsed.self_url) == ([HUB], "https://wire.example/rss")
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "W",
        "feed_url": "https://wire.example/feed.json",
        "hubs": [{"type": "WebSub", "url": HUB}, {"type": "rssCloud", "url": "x"}],
        "items": [{"id": "1", "content_text": "One"}],
    }
    parsed = parse_feed(json.dumps(document).encode(), "https://wire.example/x")
    assert (parsed.hubs, parsed.self_url) == ([HUB], "https://wire.example/feed.json")
    # The Link header comes first (WebSub 4); a relative hub resolves against the URL.
    header = {"Link": '</hub2>; rel="hub", <https://wire.example/t>; rel="self"'}
    assert find_hub(
        header, [HUB], "https://wire.example/feed.atom", "https://wire.example/x"
    ) == HubLinks("https://wire.example/hub2", "https://wire.example/t")
    assert find_hub({}, [HUB], None, "https://wire.example/x") == HubLinks(
        HUB, "https://wire.example/x"
    )
    assert find_hub({"link": '<https://wire.example/>; rel="alternate"'}, [], None, "u") is None


def test_the_hub_setting_must_be_an_http_url(tmp_path: Path) -> None:
    good = write_websub_config(
        tmp_path, 8080, "https://wire.example/", 'hub = "https://h.example/"'
    )
    config = load_config(good)
    assert config.server.hub == "https://h.example/" and config.websub.fallback_interval == 1800
    bad = write_websub_config(tmp_path, 8080, "https://wire.example/", 'hub = "ftp://h.example/"')
    with pytest.raises(ConfigError, match="not a URL"):
        load_config(bad)


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signatures_of_every_method_are_checked(method: str) -> None:
    body = b"<feed/>"
    good = hmac.new(b"s3cret", body, getattr(hashlib, method)).hexdigest()
    assert signature_valid("s3cret", body, f"{method}={good}")
    assert not signature_valid("s3cret", body + b" ", f"{method}={good}")
    assert not signature_valid("other", body, f"{method}={good}")
    assert not signature_valid("s3cret", body, None)
    assert not signature_valid("s3cret", body, f"md5={hashlib.md5(body).hexdigest()}")


def test_a_source_has_one_subscription_on_either_engine(store_url: str) -> None:
    store = open_store(store_url)
    try:
        first = Subscription("a1", "Wire", "https://w/feed", "https://hub/", "s", "pending", 1.0)
        store.save_subscription(first)
        assert store.subscription("a1") == first
        again = replace(
            first,
            sub_id="b2",
            hub="https://hub2/",
            state="active",
            lease_seconds=600.0,
            expires_at=601.0,
            error=None,
        )
        store.save_subscription(again)  # the same source: replaced, callback id and all
        assert store.subscriptions() == [again] and store.subscription("a1") is None
        store.delete_subscription("Wire")
        assert store.subscriptions() == []
    finally:
        store.close()


# -- in: subscribing, verification, pushes, renewal, fallback --------------------------------


def test_a_source_naming_a_hub_is_pushed_to_and_pushes_are_processed_as_polls(
    tmp_path: Path,
    feed_server: FeedServer,
) -> None:
    with running_hub(lease_seconds=600, algorithm="sha512") as hub:
        topic = feed_server.url("/wire.rss")
        feed_server.routes["/wire.rss"] = Route(
            story_feed(1), headers={"Link": f'<{hub.url}>; rel="hub", <{topic}>; rel="self"'}
        )
        port = free_port()
        with serve(write_websub_config(tmp_path, port, topic), port=port, role="all") as live:
            service, store = live.service, live.service.store
            hub.wait(lambda h: h.subscriptions)  # subscribed and verified, after the first poll
            (request,) = [r for r in hub.requests if r["hub.mode"] == ["subscribe"]]
            (sub,) = store.subscriptions()
            assert request["hub.callback"] == [f"http://127.0.0.1:{port}/websub/{sub.sub_id}"]
            assert request["hub.topic"] == [topic] and request["hub.secret"] == [sub.secret]
            assert (sub.state, sub.lease_seconds) == ("active", 600.0)
            assert hub.verifications == [(request["hub.callback"][0], 200, True)]

            # A verification the service did not ask for is not confirmed.
            callback = request["hub.callback"][0]
            forged = {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x"}
            assert httpx.get(callback, params=forged).status_code == 404  # not pending
            assert (
                httpx.get(callback.replace(sub.sub_id, "nobody"), params=forged).status_code == 404
            )

            # Publish: the hub fetches the topic and pushes it; the new story is stored
            # through the poll path and shows in the topic's feed, with no poll.
            polls = len(feed_server.requests_to("/wire.rss"))
            feed_server.routes["/wire.rss"].body = story_feed(2)
            hub.publish([topic])
            assert [d.status for d in hub.deliveries] == [200]
            assert len(feed_server.requests_to("/wire.rss")) == polls + 1  # the hub's fetch
            atom = httpx.get(live.url("/feeds/car-t-lupus.atom")).content
            titles = [t.text for t in etree.fromstring(atom).iter(f"{ATOM}title")]
            assert any("study 1 in lupus" in (t or "") for t in titles)
            assert store.topic_story_count("car-t-lupus") == 2

            # Unsigned and wrongly signed pushes are refused and change nothing.
            feed_server.routes["/wire.rss"].body = story_feed(3)
            body = story_feed(3)
            refused = live.metric("aggregator_websub_pushes_total", result="refused")
            assert hub.distribute(
                topic, body, "application/rss+xml", sign=lambda secret, b: None
            ) == [403]
            assert hub.distribute(
                topic, body, "application/rss+xml", sign=lambda secret, b: "sha256=" + "0" * 64
            ) == [403]
            assert store.topic_story_count("car-t-lupus") == 2
            assert live.metric("aggregator_websub_pushes_total", result="processed") >= 1
            assert live.metric("aggregator_websub_pushes_total", result="refused") == refused + 2

            # While pushed, a poll schedules the next one at the fallback pace (30 min).
            asyncio.run(service.pipeline.run_cycle(["wire"]))
            assert store.source_state("wire").poll_interval == 1800.0
            assert store.topic_story_count("car-t-lupus") == 3  # the poll still works

            # Renewal: a lease near its end is asked again (same callback and secret);
            # pushes keep being taken while the hub verifies.
            now = clock.now()
            store.save_subscription(replace(store.subscriptions()[0], expires_at=now + 60))
            assert asyncio.run(service.websub.renew_due()) == 1
            hub.wait(lambda h: len(h.verifications) == 2)
            renewals = [r for r in hub.requests if r["hub.mode"] == ["subscribe"]]
            assert len(renewals) == 2 and renewals[1]["hub.secret"] == [sub.secret]
            assert renewals[1]["hub.callback"] == [callback]
            renewed = wait_for(lambda: (s := store.subscriptions()[0]).expires_at > now + 500 and s)
            assert renewed.state == "active"

            # A source gone from the config (as after a reload): its pushes are answered
            # 410, which tells the hub to drop it, and its lease is left to lapse.
            service.websub.attach(
                service.config.model_copy(update={"sources": []}), service.pipeline
            )
            hub.publish([topic])
            assert hub.deliveries[-1].status == 410
            store.save_subscription(replace(store.subscriptions()[0], expires_at=now + 60))
            assert asyncio.run(service.websub.renew_due()) == 0


def test_a_hub_that_denies_is_recorded(tmp_path: Path, feed_server: FeedServer) -> None:
    with running_hub(deny=True) as hub:
        topic = feed_server.url("/wire.atom")
        feed_server.routes["/wire.atom"] = Route(
            ATOM_FEED.replace(HUB.encode(), hub.url.encode()), content_type="application/atom+xml"
        )
        port = free_port()
        config = write_websub_config(tmp_path, port, topic)
        with serve(config, port=port, role="all") as live:
            sub = wait_for(
                lambda: [s for s in live.service.store.subscriptions() if s.state == "denied"]
            )[0]
            assert sub.topic == "https://wire.example/feed.atom"  # the feed's rel="self"
            assert sub.error == "hub denied: not today"
            assert "wire" not in live.service.pipeline.pushed
    listed = run_cli("subscriptions", "--json", "--config", str(config)).stdout
    assert json.loads(listed) == [
        {
            "source": "wire",
            "state": "denied",
            "hub": hub.url,
            "topic": sub.topic,
            "lease_seconds": None,
            "expires": "-",
            "updated": listed.split('"updated": "')[1][:20],
            "error": "hub denied: not today",
        }
    ]
    assert sub.secret not in listed


# -- out: advertising the hub and pinging it -----------------------------------------------


def test_topic_feeds_advertise_the_hub_and_changes_reach_its_subscribers(
    tmp_path: Path,
    feed_server: FeedServer,
) -> None:
    with running_hub() as hub, running_subscriber() as reader:
        topic = feed_server.url("/wire.rss")
        feed_server.routes["/wire.rss"] = Route(
            story_feed(1), headers={"Link": f'<{hub.url}>; rel="hub"'}
        )
        port = free_port()
        config = write_websub_config(tmp_path, port, topic, extra=f'hub = "{hub.url}"')
        with serve(config, port=port, role="all") as live:
            base = live.url("/feeds/car-t-lupus")
            # The first poll changed the topic: the hub was pinged with every format's URL.
            ping = hub.wait(lambda h: [p for p in h.pings if f"{base}.atom" in p])[0]
            assert sorted(ping) == sorted(f"{base}.{fmt}" for fmt in ("atom", "json", "rss"))
            wait_for(lambda: live.metric("aggregator_websub_hub_pings_total", result="ok") >= 1)

            response = httpx.get(f"{base}.atom")
            assert response.headers["link"] == f'<{hub.url}>; rel="hub", <{base}.atom>; rel="self"'
            atom = etree.fromstring(response.content)
            assert atom.find(f"{ATOM}link[@rel='hub']").get("href") == hub.url
            assert find_hub(
                response.headers, *_links(response.content, f"{base}.atom")
            ) == HubLinks(hub.url, f"{base}.atom")
            rss = etree.fromstring(httpx.get(f"{base}.rss").content)
            assert rss.find(f"channel/{ATOM}link[@rel='hub']").get("href") == hub.url
            assert httpx.get(f"{base}.json").json()["hubs"] == [{"type": "WebSub", "url": hub.url}]
            for fmt in ("atom", "rss", "json"):  # still valid documents with the hub in them
                assert feed_problems(httpx.get(f"{base}.{fmt}").content, fmt) == []

            # A reader subscribes to our Atom feed at the hub; a push into our service
            # changes the topic, we ping, the hub fetches our feed and pushes it, signed.
            httpx.post(
                hub.url,
                data={
                    "hub.mode": "subscribe",
                    "hub.topic": f"{base}.atom",
                    "hub.callback": reader.url,
                    "hub.secret": "r",
                },
            )
            hub.wait(lambda h: any(s.callback == reader.url for s in h.subscriptions.values()))
            hub.wait(
                lambda h: h.subscriptions.get(
                    (
                        f"http://127.0.0.1:{port}/websub/"
                        + live.service.store.subscriptions()[0].sub_id,
                        topic,
                    )
                )
            )
            feed_server.routes["/wire.rss"].body = story_feed(2)
            hub.publish([topic])
            body, headers = hub.wait(lambda h: reader.pushes)[0]
            assert "study 1 in lupus" in body.decode()
            assert signature_valid("r", body, headers["x-hub-signature"])


def _links(body: bytes, url: str) -> tuple[list[str], str | None, str]:
    parsed = parse_feed(body, url, "application/atom+xml")
    return parsed.hubs, parsed.self_url, url
