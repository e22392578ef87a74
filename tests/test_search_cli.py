"""`aggregator search` as a user runs it, over the shipped demo polled into a fresh
store: ranked stories with their copies, the [terms] groups, --topic, --since, --json,
and a clear message (exit 2) for a query it cannot run. One run is a separate process,
as a user's; the others call the same `main` in this process, to stay fast."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from aggregator.cli import main
from tests.conftest import run_cli
from tests.liveserver import demo_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    config = demo_config(tmp_path_factory.mktemp("search"))
    run_cli("poll", "--config", str(config))
    return str(config)


def search(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `aggregator search ARGS`."""
    try:
        status = main(["search", *args])
    except SystemExit as exit_:  # argparse refusing an argument
        status = int(exit_.code or 0)
    output = capsys.readouterr()
    return status, output.out, output.err


Found = Callable[..., list[dict]]


@pytest.fixture
def found(demo: str, capsys: pytest.CaptureFixture[str]) -> Found:
    """`aggregator search --json ARGS` over the demo, parsed."""

    def run(*args: str) -> list[dict]:
        status, out, err = search(capsys, "--config", demo, "--json", *args)
        assert status == 0, err
        return json.loads(out)

    return run


def test_stories_best_first_with_their_copies(demo: str, found: Found) -> None:
    output = run_cli("search", "--config", demo, 'lupus AND "CAR-T"').stdout
    lines = output.splitlines()
    assert lines[-1].endswith("stories") and int(lines[-1].split()[0]) >= 3
    assert "also on " in output  # the wire copies of one release are one result
    assert "[lupus]" in output.lower()  # the snippet marks the words found
    results = found('lupus AND "CAR-T"')
    scores = [result["items"][0]["score"] for result in results]
    assert scores == sorted(scores, reverse=True)
    assert len({result["story_id"] for result in results}) == len(results)
    for result in results:
        text = " ".join(item["title"] + " " + item["snippet"] for item in result["items"])
        assert "lupus" in text.lower()


def test_groups_topics_and_dates_narrow_it(found: Found) -> None:
    everything = found("@lupus")
    in_topic = found("@lupus", "--topic", "car-t-lupus")
    assert 0 < len(in_topic) <= len(everything)
    assert {r["story_id"] for r in in_topic} <= {r["story_id"] for r in everything}
    assert found("@lupus", "--since", "2999-01-01") == []
    published = sorted(r["items"][0]["published"] for r in everything)
    assert len(found("@lupus", "--since", "2026-11-05", "--limit", "50")) == sum(
        1
        for moment in published
        if moment >= 1793836800  # 2026-11-05T00:00Z
    )
    assert [r["story_id"] for r in found("title:lupus NOT title:lupus")] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lupus AND"], "unexpected end of query at position 9"),
        (["NOT lupus"], "a search needs a term to find"),
        (["@nosuch"], "unknown group @nosuch"),
        (["lupus", "--topic", "nosuch"], "no topic 'nosuch'"),
        (["lupus", "--since", "someday"], "not a span or a date"),
    ],
)
def test_a_query_it_cannot_run_says_why(
    demo: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = search(capsys, "--config", demo, *args)
    assert status == 2
    assert message in err
    assert out == ""


def test_the_caret_points_at_the_problem(demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = search(capsys, "--config", demo, "lupus OR (CAR-T")
    assert status == 2
    lines = err.splitlines()
    assert lines[-2] == "  lupus OR (CAR-T"
    assert lines[-1] == "  " + " " * 9 + "^"
