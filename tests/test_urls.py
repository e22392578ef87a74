"""Tests for aggregator.core.urls: identity form vs publishing form of links."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from aggregator.core.urls import canonicalize_url, clean_link, is_tracking_param

# --- canonicalize_url -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Item", "https://www.example.com/News/Item"),
        ("Http://example.com/a", "http://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),  # trailing dot of the FQDN
    ],
)
def test_scheme_and_host_are_lowercased_but_path_case_kept(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),  # not http's default
    ],
)
def test_default_ports_dropped_other_ports_kept(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


def test_fragment_dropped() -> None:
    assert canonicalize_url("https://example.com/a#section-2") == "https://example.com/a"
    assert canonicalize_url("https://example.com/a?x=1#frag") == "https://example.com/a?x=1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/news/", "https://example.com/news"),
        ("https://example.com/news//", "https://example.com/news"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/news/?a=1", "https://example.com/news?a=1"),
    ],
)
def test_trailing_slash_stripped_from_non_root_path(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


@pytest.mark.parametrize(
    "param",
    [
        "utm_source=rss", "utm_medium=feed", "utm_campaign=x", "utm_term=t", "utm_content=c",
        "utm_id=1", "UTM_Source=Mixed", "fbclid=IwAR0abc", "gclid=Cj0K", "dclid=abc",
        "gbraid=1", "wbraid=2", "msclkid=abc", "mc_cid=123", "mc_eid=456", "_ga=2.1.2.3",
        "_gl=1*abc", "_hsenc=p2AN", "_hsmi=123", "__hstc=1", "__hssc=2", "__hsfp=3",
        "hsCtaTracking=x", "igshid=abc", "yclid=1", "twclid=2", "ttclid=3", "li_fat_id=4",
        "mkt_tok=5", "vero_id=6", "_openstat=7", "pk_campaign=8", "mtm_source=9",
        "ref_src=twsrc%5Etfw", "utm%5Fsource=encoded",
    ],
)
def test_every_tracking_family_removed(param: str) -> None:
    url = f"https://example.com/story?id=7&{param}"
    assert canonicalize_url(url) == "https://example.com/story?id=7"
    assert clean_link(url) == "https://example.com/story?id=7"


@pytest.mark.parametrize("param", ["ref=main", "source=home", "id=3", "page=2", "tc=1"])
def test_parameters_that_may_select_content_are_kept(param: str) -> None:
    assert canonicalize_url(f"https://example.com/a?{param}") == f"https://example.com/a?{param}"


def test_publisher_specific_trackers_only_on_their_host() -> None:
    prn = "https://www.prnewswire.com/news-releases/x-302372111.html?tc=eml_cleartime"
    assert canonicalize_url(prn) == "https://www.prnewswire.com/news-releases/x-302372111.html"
    bw = "https://www.businesswire.com/news/home/20250603/en/?feedref=JjAwJuNH"
    assert canonicalize_url(bw) == "https://www.businesswire.com/news/home/20250603/en"
    assert is_tracking_param("tc", "www.prnewswire.com")
    assert not is_tracking_param("tc", "example.com")


def test_remaining_query_params_sorted_and_values_kept() -> None:
    a = canonicalize_url("https://example.com/s?b=2&a=1&utm_source=x&a=0")
    b = canonicalize_url("https://example.com/s?a=0&a=1&b=2")
    assert a == b == "https://example.com/s?a=0&a=1&b=2"


def test_query_flags_and_empty_values_distinguished() -> None:
    assert canonicalize_url("https://e.com/a?print") == "https://e.com/a?print"
    assert canonicalize_url("https://e.com/a?print=") == "https://e.com/a?print="
    assert canonicalize_url("https://e.com/a?utm_source=x") == "https://e.com/a"
    assert canonicalize_url("https://e.com/a?&&") == "https://e.com/a"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://e.com/%7Euser/a%2db", "https://e.com/~user/a-b"),  # unreserved decoded
        ("https://e.com/a%2fb", "https://e.com/a%2Fb"),  # reserved kept, hex upper-cased
        ("https://e.com/a b", "https://e.com/a%20b"),
        ("https://e.com/café", "https://e.com/caf%C3%A9"),
        ("https://e.com/a?q=caf%c3%a9&x=a+b", "https://e.com/a?q=caf%C3%A9&x=a+b"),
        ("https://e.com/100%", "https://e.com/100%25"),  # a bare % is encoded
        ("https://e.com/a/./b/../c", "https://e.com/a/c"),
    ],
)
def test_percent_encoding_and_dot_segments_normalized(raw: str, expected: str) -> None:
    assert canonicalize_url(raw) == expected


def test_idna_host() -> None:
    assert canonicalize_url("https://Bücher.example/x") == "https://xn--bcher-kva.example/x"
    assert canonicalize_url("https://xn--bcher-kva.example/x") == "https://xn--bcher-kva.example/x"


def test_ipv6_host_keeps_brackets() -> None:
    assert canonicalize_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonicalize_url("http://[::1]:80/a") == "http://[::1]/a"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/news/item-1", "https://Example.com/feed.xml", "https://example.com/news/item-1"),
        ("item-2?utm_source=rss", "https://example.com/news/", "https://example.com/news/item-2"),
        ("../other", "https://example.com/news/a/", "https://example.com/news/other"),
        ("//cdn.example.com/x", "http://example.com/", "http://cdn.example.com/x"),
        ("https://absolute.example/x", "https://ignored.example/", "https://absolute.example/x"),
    ],
)
def test_relative_links_resolved_against_base(url: str, base: str, expected: str) -> None:
    assert canonicalize_url(url, base) == expected


def test_protocol_relative_without_base_assumes_https() -> None:
    assert canonicalize_url("//example.com/a") == "https://example.com/a"


@pytest.mark.parametrize(
    "garbage",
    [
        "", "   ", "javascript:alert(1)", "mailto:press@example.com", "tel:+15551234",
        "data:text/html,hi", "ftp://example.com/file", "not a url", "/relative/without/base",
        "https://", "http://example.com:99999/", "http://exa\nmple.com/", "http://[::1/a",
    ],
)
def test_unusable_input_gives_none(garbage: str) -> None:
    assert canonicalize_url(garbage) is None
    assert clean_link(garbage) is None


def test_non_string_input_gives_none() -> None:
    assert canonicalize_url(None) is None  # type: ignore[arg-type]
    assert clean_link(None) is None  # type: ignore[arg-type]


def test_same_page_different_spellings_same_identity() -> None:
    spellings = [
        "https://www.globenewswire.com/news-release/2025/03/18/3044/0/en/Lumora.html",
        "HTTPS://www.GlobeNewswire.com:443/news-release/2025/03/18/3044/0/en/Lumora.html/",
        "https://www.globenewswire.com/news-release/2025/03/18/3044/0/en/Lumora.html"
        "?utm_source=rss&utm_medium=feed#top",
        "https://www.globenewswire.com/news-release/2025/03/18/3044/0/en/./Lumora.html?feedref=x",
    ]
    assert len({canonicalize_url(u) for u in spellings}) == 1


# --- clean_link -------------------------------------------------------------------------


def test_clean_link_keeps_publisher_form_minus_trackers() -> None:
    url = "https://News.Example.com/Story/2025/A-Title/?b=2&utm_source=rss&a=1&fbclid=x#Top"
    assert clean_link(url) == "https://News.Example.com/Story/2025/A-Title/?b=2&a=1#Top"


def test_clean_link_keeps_default_port_and_encoding() -> None:
    url = "http://example.com:80/a%2Fb/?q=a+b&gclid=1"
    assert clean_link(url) == "http://example.com:80/a%2Fb/?q=a+b"


def test_clean_link_drops_empty_query_and_tracking_only_fragment() -> None:
    assert clean_link("https://e.com/a?utm_source=x") == "https://e.com/a"
    assert clean_link("https://e.com/a#utm_source=x&utm_medium=y") == "https://e.com/a"
    assert clean_link("https://e.com/a#page=2") == "https://e.com/a#page=2"


def test_clean_link_resolves_relative() -> None:
    assert clean_link("story.html?mc_cid=1", "https://e.com/news/") == "https://e.com/news/story.html"


def test_clean_link_encodes_only_invalid_characters() -> None:
    assert clean_link("https://e.com/a b/café?x=ü") == "https://e.com/a%20b/caf%C3%A9?x=%C3%BC"
    assert clean_link("https://Bücher.example/x") == "https://xn--bcher-kva.example/x"


def test_clean_link_is_idempotent() -> None:
    url = "https://e.com/A/?z=1&utm_campaign=c&y=2#frag"
    once = clean_link(url)
    assert once is not None
    assert clean_link(once) == once
    canonical = canonicalize_url(url)
    assert canonical is not None
    assert canonicalize_url(canonical) == canonical


@pytest.mark.parametrize("url", [
    "https://wire.example/a/../b;p?q=1&utm_source=x#frag",
    "http://Wire.Example:80/a?",
    "https://wire.example/a?#",
    "http://other.example/x y",
    "https://wire.example",
])
def test_an_absolute_link_is_not_joined_to_the_base_and_comes_out_the_same(url: str) -> None:
    # Resolving skips urljoin for links that are already absolute http(s); what urljoin
    # would have made of them must give the same results.
    base = "https://wire.example/news/feed.xml"
    assert clean_link(url, base) == clean_link(urljoin(base, url))
    assert canonicalize_url(url, base) == canonicalize_url(urljoin(base, url))
