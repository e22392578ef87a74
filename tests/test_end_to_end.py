"""The whole path over real loopback HTTP, driven through the `aggregator` command."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route

ATOM = "{http://www.w3.org/2005/Atom}"

EXPECTED_TITLES = [  # newest first
    "Nuvexa Bio Doses First Patient With Allogeneic CAR-T NVX-201 in Systemic Lupus "
    "Erythematosus",
    "Orbital Pharma Receives IND Clearance for CAR T-Cell Therapy ORB-7 in Lupus Nephritis",
    "Five-year follow-up: CAR T cells keep lupus patients in drug-free remission",
]


def poll(config: Path) -> str:
    return run_cli("poll", "--config", str(config)).stdout


def render(config: Path, fmt: str = "atom") -> bytes:
    args = ("render", "car-t-lupus", "--format", fmt, "--config", str(config))
    return run_cli(*args).stdout.encode()


def atom_entries(document: bytes) -> list[dict[str, object]]:
    root = etree.fromstring(document)
    entries = []
    for entry in root.findall(f"{ATOM}entry"):
        entries.append({
            "id": entry.findtext(f"{ATOM}id"),
            "title": entry.findtext(f"{ATOM}title"),
            "link": next(link.get("href") for link in entry.findall(f"{ATOM}link")
                         if link.get("rel", "alternate") == "alternate"),
            "related": [link.get("title") for link in entry.findall(f"{ATOM}link[@rel='related']")],
            "content": entry.findtext(f"{ATOM}content"),
        })
    return entries


def test_poll_renders_exactly_the_matching_stories(feed_server: FeedServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    output = poll(config)
    assert "Test Wire: 3 new" in output
    assert "Nuvexa Newsroom: 2 new" in output
    assert "Science Releases: 2 new" in output
    assert "total: 3 sources" in output

    entries = atom_entries(render(config))
    assert [e["title"] for e in entries] == EXPECTED_TITLES
    nuvexa = entries[0]
    # The wire copy is the earliest, so it is the primary; tracking parameters are gone.
    assert nuvexa["link"] == "https://wire.example.com/news/nuvexa-first-patient-nvx-201.html"
    assert nuvexa["related"] == ["Nuvexa Newsroom"]
    assert "Also on:" in nuvexa["content"] and "Source:" in nuvexa["content"]
    assert all(str(e["id"]).startswith("urn:uuid:") for e in entries)

    rss = etree.fromstring(render(config, "rss"))
    assert [t.text for t in rss.iter("title")][1:] == EXPECTED_TITLES
    feed = json.loads(render(config, "json"))
    assert [item["title"] for item in feed["items"]] == EXPECTED_TITLES
    assert feed["items"][0]["_aggregator"]["also_on"][0]["source"] == "Nuvexa Newsroom"


def test_second_poll_uses_validators_and_adds_nothing(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    poll(config)
    before = render(config)
    output = poll(config)
    for name in ("Test Wire", "Nuvexa Newsroom", "Science Releases"):
        assert f"{name}: unchanged: 0 new, 0 updated, 0 merged into existing stories (0 entries"\
            in output
    second = feed_server.requests_to("/wire.rss")[-1]
    assert second.status == 304
    assert second.headers.get("If-None-Match")
    assert second.headers.get("If-Modified-Since")
    assert second.headers["User-Agent"].startswith("newswire-aggregator/")
    assert render(config) == before


def test_edited_item_updates_in_place(feed_server: FeedServer, tmp_path: Path) -> None:
    urls = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", urls)
    poll(config)
    first = atom_entries(render(config))
    route = feed_server.routes["/wire.rss"]
    route.body = route.body.replace(b"ORB-7, an autologous", b"ORB-7 (corrected), an autologous")
    output = poll(config)
    assert "Test Wire: 0 new, 1 updated" in output
    second = atom_entries(render(config))
    assert [e["id"] for e in second] == [e["id"] for e in first]
    assert "ORB-7 (corrected)" in str(second[1]["content"])


def test_entry_ids_identical_across_processes_and_stores(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Ids depend on the data and the order copies arrived in, never on the process.

    Each store is filled by separate `aggregator poll` processes, one source at a time in
    the same order (a merged story keeps the id of the copy stored first), and every
    render runs in a process of its own.
    """
    urls = serve_e2e_feeds(feed_server)
    ids = []
    for name in ("one", "two"):
        config = write_config(tmp_path / f"{name}.toml", urls, db=tmp_path / f"{name}.db")
        for source in urls:
            run_cli("poll", "--source", source, "--config", str(config))
        first = [e["id"] for e in atom_entries(render(config))]
        assert [e["id"] for e in atom_entries(render(config))] == first
        ids.append(first)
    assert ids[0] == ids[1] and len(ids[0]) == 3


def test_broken_sources_leave_the_others_intact(feed_server: FeedServer, tmp_path: Path) -> None:
    urls = serve_e2e_feeds(feed_server)
    feed_server.routes["/500"] = Route(b"oops", status=500, content_type="text/plain")
    feed_server.routes["/garbage"] = Route(b"\x00\x01 not a feed {", content_type="text/xml")
    feed_server.routes["/page"] = Route(
        b'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        b'href="/wire.rss"></head><body>News</body></html>', content_type="text/html"
    )
    broken = {
        "Server Error": feed_server.url("/500"),
        "Garbage": feed_server.url("/garbage"),
        "Web Page": feed_server.url("/page"),
        "Refused": "http://127.0.0.1:9/feed.xml",
        "Missing File": str(tmp_path / "absent.xml"),
    }
    config = write_config(tmp_path / "config.toml", {**broken, **urls})
    result = run_cli("poll", "--config", str(config), check=False)
    assert result.returncode == 3  # some sources failed, the others were read
    output = result.stdout
    assert "Server Error: error: HTTP 500" in output
    assert "Garbage: error: not a feed" in output
    assert f"Web Page: error: HTML page, not a feed; it advertises feeds: " \
           f"{feed_server.url('/wire.rss')}" in output
    assert "Refused: error: cannot connect" in output
    assert "Missing File: error: no such file" in output
    assert [e["title"] for e in atom_entries(render(config))] == EXPECTED_TITLES
    health = json.loads(run_cli("sources", "--json", "--config", str(config)).stdout)
    by_name = {row["name"]: row for row in health}
    assert by_name["Server Error"]["consecutive_failures"] == 1
    assert by_name["Server Error"]["last_http_status"] == 500
    assert by_name["Test Wire"]["consecutive_failures"] == 0
    assert by_name["Test Wire"]["items_last_7_days"] == 3


def test_local_file_sources_and_demo_config(tmp_path: Path) -> None:
    """The shipped demo config works offline from a fresh store."""
    from tests.conftest import ROOT

    demo = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    demo = demo.replace('url = "sqlite:///../data/demo.db"', f'url = "sqlite:///{tmp_path}/demo.db"')
    demo = demo.replace('"../samples/', f'"{ROOT}/samples/')
    config = tmp_path / "demo.toml"
    config.write_text(demo, encoding="utf-8")
    output = poll(config)
    assert "errors" in output and "0 errors" in output
    entries = atom_entries(render(config))
    titles = [e["title"] for e in entries]
    carsgen = [e for e in entries if str(e["title"]).startswith("CARsgen's Allogeneic")]
    assert len(carsgen) == 1  # the three wire copies are one story...
    # ... and FierceBiotech's article reporting the same dosing joins it (issue 16)
    assert sorted(carsgen[0]["related"]) == ["Business Wire", "FierceBiotech", "GlobeNewswire"]
    assert not any("Shopping Cart" in t or "Canis lupus" in t or "Cartilage" in t for t in titles)
    second = poll(config)
    assert second.count(": unchanged:") == 5
