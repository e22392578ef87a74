"""The sanitizer alone: every catalogue vector, the HTML it must keep, URL resolution,
and plain text that never holds a tag."""

from __future__ import annotations

import html

import pytest

from aggregator.core.sanitize import html_to_text, sanitize_html
from tests.feedcheck import html_problems, text_problems
from tests.xssfeeds import Vector, load_vectors

VECTORS = load_vectors()
BASE = "https://source.example/news/feed.xml"


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector_is_neutralised(vector: Vector) -> None:
    cleaned = sanitize_html(f"<p>before</p>{vector.html}<p>after</p>", BASE)
    assert html_problems(cleaned, vector.name) == []
    assert cleaned.startswith("<p>before</p>") and "after" in cleaned  # the rest is kept
    # Stable: what we publish sanitizes to itself, so a reader's own sanitizer or a
    # second parse cannot turn it into something else (mutation XSS).
    assert sanitize_html(cleaned, BASE) == cleaned
    assert text_problems(html_to_text(vector.html), vector.name) == []
    assert text_problems(html_to_text(f"Title {vector.html}"), vector.name) == []


def test_catalogue_is_large_and_distinct() -> None:
    assert len(VECTORS) >= 30
    assert len({v.html for v in VECTORS}) == len(VECTORS)
    assert len({v.name for v in VECTORS}) == len(VECTORS)


def test_safe_markup_and_links_are_kept() -> None:
    fragment = (
        '<h2>Results</h2><p>The <b>trial</b> met its <em>primary</em> endpoint '
        '(<a href="https://nejm.example/x" title="paper">paper</a>, '
        '<a href="mailto:press@source.example">press</a>).</p>'
        '<ul><li>one</li></ul><blockquote cite="https://q.example/">quoted</blockquote>'
        '<img src="https://img.example/a.png" alt="chart" width="10">'
        '<table><tr><td colspan="2">cell</td></tr></table>'
    )
    cleaned = sanitize_html(fragment, BASE)
    for kept in ("<h2>Results</h2>", "<b>trial</b>", "<em>primary</em>",
                 'href="https://nejm.example/x"', 'title="paper"',
                 'href="mailto:press@source.example"', "<li>one</li>",
                 'cite="https://q.example/"', 'src="https://img.example/a.png"', 'alt="chart"',
                 'colspan="2"'):
        assert kept in cleaned, kept
    assert 'rel="noopener noreferrer nofollow"' in cleaned


@pytest.mark.parametrize(("url", "absolute"), [
    ("/press/1.html", "https://source.example/press/1.html"),
    ("2.html", "https://source.example/news/2.html"),
    ("../img/a.png", "https://source.example/img/a.png"),
    ("//cdn.example/a.png", "https://cdn.example/a.png"),
    ("?page=2", "https://source.example/news/feed.xml?page=2"),
    ("  https://spaced.example/  ", "https://spaced.example/"),
])
def test_relative_urls_become_absolute_against_the_source(url: str, absolute: str) -> None:
    cleaned = sanitize_html(f'<a href="{url}">x</a><img src="{url}">', BASE)
    assert f'href="{absolute}"' in cleaned and f'src="{absolute}"' in cleaned


def test_relative_urls_without_a_base_are_dropped() -> None:
    assert "href" not in sanitize_html('<a href="/relative">x</a>', None)


def test_comments_and_unknown_elements_go_but_their_text_stays() -> None:
    cleaned = sanitize_html("<!-- secret --><section><custom-tag>text</custom-tag></section>")
    assert cleaned == "text"


@pytest.mark.parametrize(("fragment", "text"), [
    ("lu<b>pus</b>", "lupus"),
    ("<p>one</p><p>two</p>", "one two"),
    ("AT&amp;T &lt; Verizon", "AT&T < Verizon"),
    ("x < y & z", "x < y & z"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;News", "News"),
    ("&amp;lt;b&amp;gt;bold", "&lt;b&gt;bold"),  # escaped twice: one level is decoded
    ('<p title="&lt;img src=x onerror=alert(1)&gt;">Hi</p>', "Hi"),
    ("<script>var a = '<b>';</script>Caption", "Caption"),
    ("  spaced \n\t out  ", "spaced out"),
    ("", ""),
])
def test_plain_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


def test_plain_text_never_holds_a_tag_however_deeply_markup_is_nested() -> None:
    """Each decoding round can reveal another tag; past the round limit the rest go too."""
    nested = "<img src=x onerror=alert(1)>payload"
    for depth in range(12):
        nested = f"<i>{html.escape(nested)}</i>"
        text = html_to_text(nested)
        assert text_problems(text, f"depth {depth}") == [] and "payload" in text
