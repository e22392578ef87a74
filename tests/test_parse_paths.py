"""The fast path on the shapes real feeds have (issue 18), against feedparser.

Every real-world shape the cycle corpus draws (bench/cycle/shapes.py) must be read by
the fast path, with exactly feedparser's items; every flaw only feedparser reads must
reach feedparser and still give its entries. The whole corpus is checked by
bench/bench_parse.py; here a sample of it and each shape on its own.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.sources.parse import parse_feed
from aggregator.sources.parse.rules import parse_date
from bench.cycle.corpus import CATEGORIES, generate
from bench.cycle.paths import judge
from bench.cycle.render import Context, Release, render
from bench.cycle.shapes import FEEDPARSER_ONLY, Shape

URL = "http://127.0.0.1:8080/feeds/case"
PLAIN = Shape(
    kind="rss",
    content_type="application/rss+xml; charset=utf-8",
    encoding="utf-8",
    both_authors=False,
    xml_base=False,
    named_zone=False,
    self_link=False,
    enclosures=False,
    feedparser_only="",
)
SHAPES = {
    "rss plain": PLAIN,
    "rss self link, enclosures": dataclasses.replace(PLAIN, self_link=True, enclosures=True),
    "rss dates in EST": dataclasses.replace(PLAIN, named_zone=True),
    "rss latin-1, text/xml": dataclasses.replace(
        PLAIN, encoding="iso-8859-1", content_type="text/xml"
    ),
    "rss windows-1252": dataclasses.replace(
        PLAIN, encoding="windows-1252", content_type="application/rss+xml"
    ),
    "rss octet-stream": dataclasses.replace(PLAIN, content_type="application/octet-stream"),
    "rss text/plain": dataclasses.replace(PLAIN, content_type="text/plain; charset=utf-8"),
    "rss no content type": dataclasses.replace(PLAIN, content_type=None),
    "atom both authors": dataclasses.replace(
        PLAIN, kind="atom", content_type="application/atom+xml", both_authors=True
    ),
    "atom xml:base, enclosures": dataclasses.replace(
        PLAIN, kind="atom", content_type="text/xml", xml_base=True, enclosures=True
    ),
    "rdf": dataclasses.replace(PLAIN, kind="rdf", content_type="application/rdf+xml"),
}


def document(shape: Shape, *, cdata: bool = True) -> bytes:
    now = datetime(2026, 3, 2, 15, 4, 5, tzinfo=UTC)
    releases = [
        Release(
            f"Nuvexa Bio's Release {n} on CAR-T",
            ["<b>Lead</b> &amp; body", "Second"],
            "Nuvexa Bio & Co",
            now - timedelta(hours=n),
            topic=False,
        )
        for n in range(3)
    ]
    ctx = Context(shape, "Bio Wire 0001", "Z\u00dcRICH", cdata, CATEGORIES)
    return render("Wire 0001", ctx, [(release, 7000 + n) for n, release in enumerate(releases)])


@pytest.mark.parametrize("name", SHAPES)
def test_each_real_world_shape_takes_the_fast_path_with_feedparsers_items(name: str) -> None:
    shape = SHAPES[name]
    for cdata in (True, False):
        verdict = judge(document(shape, cdata=cdata), URL, shape.content_type)
        assert verdict.path == "fast", name
        assert verdict.agrees, name


@pytest.mark.parametrize("flaw", FEEDPARSER_ONLY)
def test_each_flaw_only_feedparser_reads_reaches_it_and_keeps_the_entries(flaw: str) -> None:
    shape = dataclasses.replace(
        PLAIN, feedparser_only=flaw, content_type="text/html" if flaw == "served-as-html" else None
    )
    body = document(shape)
    assert judge(body, URL, shape.content_type).path == "feedparser"
    parsed = parse_feed(body, URL, shape.content_type)
    assert [entry.guid for entry in parsed.entries] == ["7000", "7001", "7002"]


def test_what_the_fast_path_reads_is_what_the_document_says() -> None:
    """Not only equal to feedparser: right. Relative links resolve against xml:base, an
    entry with both author elements has its author, EST is five hours behind UTC, a
    Latin-1 document's accents survive."""
    atom = dataclasses.replace(PLAIN, kind="atom", xml_base=True, both_authors=True)
    entry = parse_feed(document(atom), URL, "text/xml").entries[0]
    assert entry.link == "https://www.biowire0001.example/news/home/7000/en/?feedref=rss"
    assert entry.base_url == "https://www.biowire0001.example/news/"
    assert entry.author == "Nuvexa Bio & Co"
    rss = dataclasses.replace(PLAIN, named_zone=True, encoding="iso-8859-1")
    parsed = parse_feed(document(rss), URL, "text/xml")
    assert parsed.entries[0].published == datetime(2026, 3, 2, 15, 4, 5, tzinfo=UTC)
    assert parsed.title == "Bio Wire 0001: Wire 0001 (Actualit\u00e9s, Z\u00fcrich)"
    assert parse_date("Mon, 02 Mar 2026 10:04:05 PDT") == parse_date("02 Mar 2026 17:04:05 GMT")


def test_a_sample_of_the_bench_corpus_is_read_alike_by_both_paths(tmp_path: Path) -> None:
    specs = generate(tmp_path, feeds=40, changed=0.1, seed=18)
    paths: Counter[str] = Counter()
    for spec in specs:
        name = spec.path.rsplit("/", 1)[1]
        verdict = judge((tmp_path / "v0" / name).read_bytes(), URL, spec.content_type)
        paths[verdict.path] += 1
        assert (verdict.path == "feedparser") == bool(spec.feedparser_only), name
        assert verdict.agrees is not False, name
    assert {spec.kind for spec in specs} >= {"rss", "atom", "rdf"}
    assert paths["fast"] > 30
