"""feedparser's own 2,107 test documents: the fast path's promise, then a robustness run.

The corpus (see ../shared/corpora/README.md) holds two decades of real-world breakage.
Two promises are checked on all of it:

* wherever `aggregator.sources.parse.fast` accepts a document, it gives exactly what feedparser,
  the parser of record, gives: the same feed title, link and ttl and the same items;
* served over loopback with its HTTP headers and polled through the real pipeline
  (fetch, parse, normalize, fingerprint, match, store, render) in one cycle, every
  case yields its entries or a recorded error: nothing crashes, nothing is lost
  silently. feedparser's own entry count is the reference.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from aggregator.core.normalize import normalize_feed
from aggregator.sources.parse import FeedParseError, parse_feed, parse_with_feedparser
from aggregator.sources.parse.fast import parse_fast
from aggregator.sources.parse.mediatype import effective_content_type
from tests.conftest import TOPICS_TOML
from tests.feedserver import FeedServer, Route
from tests.harness import Harness

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feedparser-tests"
HEADER = re.compile(rb"^Header:\s*([^:\s]+):[ \t]*(.*?)\s*$", re.M)
SEEN = datetime(2026, 1, 1, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:8097/"  # the host feedparser's own test suite serves from

pytestmark = pytest.mark.skipif(
    not (CORPUS / "INDEX.tsv").exists(),
    reason=f"the feedparser test corpus is not at {CORPUS} (see ../shared/corpora/README.md)",
)


@dataclass(frozen=True)
class Case:
    path: str
    body: bytes
    content_type: str
    headers: dict[str, str]


def corpus() -> Iterator[Case]:
    """Every case of INDEX.tsv with the HTTP headers its comment asks to be served with."""
    lines = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        path = line.split("\t", 1)[0]
        body = (CORPUS / path).read_bytes()
        headers = {name.decode(): value.decode("latin-1")
                   for name, value in HEADER.findall(body[:4096])}
        content_type = next((value for name, value in headers.items()
                             if name.lower() == "content-type"), None)
        headers = {name: value for name, value in headers.items()
                   if name.lower() != "content-type"}
        if content_type is None:
            content_type = "application/feed+json" if path.endswith(".json") else "application/xml"
        yield Case(path, body, content_type, headers)


def comparable(parsed: object, url: str) -> tuple[object, ...]:
    """What the service keeps of a parse: feed fields, raw entries, normalized items."""
    return (parsed.title, parsed.link, parsed.ttl_minutes, parsed.problem, parsed.entries,
            normalize_feed("case", parsed, SEEN))


def test_the_fast_path_gives_feedparsers_items_wherever_it_accepts() -> None:
    accepted = []
    for case in corpus():
        url = BASE_URL + case.path
        content_type = effective_content_type(case.content_type)  # as parse_feed gives both
        fast = parse_fast(case.body, url, content_type)
        if fast is None:
            continue
        accepted.append(case.path)
        record = parse_with_feedparser(case.body, url, content_type)
        assert comparable(fast, url) == comparable(record, url), case.path
    # Not vacuous: the plain RSS 2.0, RSS 1.0 and Atom 1.0 cases do take the fast path.
    assert len(accepted) >= 700
    assert "wellformed/rss/item_guid.xml" in accepted
    assert "wellformed/atom10/entry_content_value.xml" in accepted
    assert "wellformed/rdf/rdf_item_rdf_about.xml" in accepted


def feedparser_entries(case: Case, url: str) -> int:
    """How many entries the parser of record finds in the case as served; feedparser 6.0
    reads no JSON Feed, so for the JSON case it is the items the document holds (the
    corpus's own expectation: "len(entries) == 2")."""
    if case.path.endswith(".json"):
        return len(json.loads(case.body)["items"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = feedparser.parse(io.BytesIO(case.body), response_headers={
            "content-type": case.content_type, "content-location": url})
    return len(result.entries)


def expected_items(case: Case, url: str) -> int | None:
    """Distinct items the case should store (entries sharing an identity are one), or
    None when the document is rejected."""
    try:
        return len(normalize_feed(case.path, parse_feed(case.body, url, case.content_type), SEEN))
    except FeedParseError:
        return None


@pytest.mark.slow
def test_every_case_over_loopback_yields_its_entries_or_a_recorded_error(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    cases = list(corpus())
    urls = {}
    for case in cases:
        feed_server.routes["/" + case.path] = Route(
            case.body, content_type=case.content_type, headers=case.headers, validators=False)
        urls[case.path] = feed_server.url("/" + case.path)
    names = json.dumps([case.path for case in cases])
    everything = (f'\n[[topics]]\nslug = "everything"\ntitle = "Everything"\n'
                  f"trusted_sources = {names}\nmax_entries = 10000\n")
    with Harness(tmp_path, urls, fetch={"per_host": 16, "concurrency": 32},
                 topics=TOPICS_TOML + everything) as harness:
        reports = {report.source: report for report in harness.cycle().sources}
        with harness.store.transaction(write=False) as cur:
            cur.execute("SELECT source, COUNT(*) FROM items GROUP BY source")
            stored = dict(cur.fetchall())
            cur.execute("SELECT COUNT(DISTINCT story_id) FROM items")
            stories = cur.fetchone()[0]
        states = {state.name: state for state in harness.store.source_states()}
        losses = []
        for case in cases:
            url, report, state = urls[case.path], reports[case.path], states[case.path]
            found, expected = feedparser_entries(case, url), expected_items(case, url)
            count = stored.get(case.path, 0)
            assert state.last_attempt is not None, case.path
            assert not (report.error or "").startswith("processing failed"), (
                case.path, report.error)
            if report.status == "error":
                assert state.last_error, case.path  # recorded, with its reason
                if found:
                    losses.append((case.path, found, report.error))
            else:
                assert count == expected and count <= found, (case.path, count, expected, found)
                assert report.entries >= count
        assert losses == [], "entries feedparser finds but the pipeline lost"

        total = harness.store.topic_story_count("everything")
        assert total == stories and sum(stored.values()) > 1200  # every story is published
        atom = etree.fromstring(harness.render("everything", "atom"))
        assert len(atom.findall("{http://www.w3.org/2005/Atom}entry")) == total
        rss = etree.fromstring(harness.render("everything", "rss"))
        assert len(rss.findall("channel/item")) == total
        assert len(json.loads(harness.render("everything", "json"))["items"]) == total
        etree.fromstring(harness.render("car-t-lupus", "atom"))
