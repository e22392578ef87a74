"""Topic semantics: source selection, trusted sources, include/require/exclude, groups,
hits and reasons, and the RuleError contract used by the config loader."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.config import TopicConfig
from aggregator.core.match import MatchDocument, RuleError, TopicMatcher, compile_topics
from aggregator.models import TermHit, TopicMatch

TERMS = {
    "car_t": ["CAR-T", "chimeric antigen receptor", "CAR T-cell"],
    "sle": ["lupus", "SLE", "lupus nephritis"],
    "wolves": ["canis lupus", "grey wolf"],
}


def topic(slug: str = "t", **rule: Any) -> TopicConfig:
    return TopicConfig(slug=slug, title=slug.title(), **rule)


def doc(
    title: str = "", summary: str = "", content: str = "", categories: list[str] | None = None,
    author: str | None = None, source: str = "wire", tags: list[str] | None = None,
) -> MatchDocument:
    return MatchDocument(title=title, summary=summary, content=content,
                         categories=categories or [], author=author, source=source,
                         source_tags=tags or [])


def where(hits: list[TermHit]) -> list[tuple[str, str]]:
    """(term, field) of each hit: what these tests assert (locations: test_match_relevance)."""
    return [(hit.term, hit.field) for hit in hits]


def one(rule: TopicConfig, item: MatchDocument, terms: dict[str, list[str]] | None = None
        ) -> TopicMatch:
    [result] = compile_topics([rule], TERMS if terms is None else terms).match(item)
    return result


# --- include / require / exclude -------------------------------------------------------


def test_include_is_any_of() -> None:
    rule = topic(include=["CAR-T", "lupus"])
    assert one(rule, doc(title="Lupus trial")).matched
    assert one(rule, doc(title="CAR-T trial")).matched
    result = one(rule, doc(title="Myeloma trial"))
    assert not result.matched
    assert result.reason == "no include term found (looked for 'CAR-T', 'lupus')"


def test_require_is_all_of() -> None:
    rule = topic(require=["CAR-T", "lupus"])
    result = one(rule, doc(title="CAR-T in lupus"))
    assert result.matched
    assert result.reason == "matched require 'CAR-T' in title, 'lupus' in title"
    result = one(rule, doc(title="CAR-T in myeloma"))
    assert not result.matched
    assert result.reason == "require 'lupus' not found"


def test_include_require_and_query_must_all_hold() -> None:
    rule = topic(include=["CAR-T"], require=["lupus"], query="NOT mouse")
    assert one(rule, doc(title="CAR-T in lupus")).matched
    result = one(rule, doc(title="CAR-T in lupus mouse model"))
    assert not result.matched
    assert result.reason == "query not satisfied: NOT 'mouse' failed ('mouse' in title)"
    result = one(rule, doc(title="Antibody in myeloma mouse model"))
    assert result.reason == (
        "no include term found (looked for 'CAR-T'); require 'lupus' not found; "
        "query not satisfied: NOT 'mouse' failed ('mouse' in title)"
    )


def test_exclude_canis_lupus() -> None:
    rule = topic(include=["lupus"], exclude=["canis lupus"])
    result = one(rule, doc(title="Canis lupus populations recover in the Alps"))
    assert not result.matched
    assert result.reason == "excluded by 'canis lupus' in title"
    assert where(result.hits) == [("lupus", "title"), ("canis lupus", "title")]
    assert one(rule, doc(title="Lupus trial", summary="No wolves here")).matched


def test_exclude_in_any_text_field_wins() -> None:
    rule = topic(include=["lupus"], exclude=["mouse model"])
    result = one(rule, doc(title="Lupus breakthrough", content="... in a mouse model ..."))
    assert not result.matched
    assert result.reason == "excluded by 'mouse model' in content"


def test_exclude_with_group_reports_member() -> None:
    rule = topic(include=["lupus"], exclude=["@wolves"])
    result = one(rule, doc(title="Lupus? No: a grey wolf pack"))
    assert not result.matched
    assert result.reason == "excluded by @wolves ('grey wolf' in title)"


def test_group_in_include_matches_any_member() -> None:
    rule = topic(include=["@car_t"])
    result = one(rule, doc(summary="A chimeric antigen receptor therapy"))
    assert result.matched
    assert where(result.hits) == [("chimeric antigen receptor", "summary")]
    assert result.reason == (
        "matched include @car_t ('chimeric antigen receptor' in summary)"
    )


def test_group_in_require_needs_one_member() -> None:
    rule = topic(require=["@car_t", "@sle"])
    assert one(rule, doc(title="CAR T-cell therapy", summary="SLE patients")).matched
    result = one(rule, doc(title="CAR T-cell therapy"))
    assert result.reason == "require @sle not found"


def test_field_prefix_in_a_list_entry() -> None:
    rule = topic(include=["title:lupus"])
    assert one(rule, doc(title="Lupus")).matched
    result = one(rule, doc(summary="Lupus"))
    assert not result.matched
    assert result.reason == "no include term found (looked for title:'lupus')"


def test_hits_keep_the_term_as_the_curator_wrote_it() -> None:
    # synonyms off: "CAR T cells" would be the shipped synonym "CAR T-cells" of CAR-T
    rule = topic(include=["Sjögren's syndrome", "CAR-T"], synonyms=False)
    result = one(rule, doc(title="SJOGREN SYNDROME", summary="CAR T cells", categories=["CAR-T"]))
    assert where(result.hits) == [
        ("Sjögren's syndrome", "title"),
        ("CAR-T", "summary"),
        ("CAR-T", "category"),
    ]
    assert result.reason == (
        "matched include 'Sjögren's syndrome' in title, 'CAR-T' in summary, category"
    )


def test_same_term_found_twice_in_a_field_is_one_hit() -> None:
    result = one(topic(include=["lupus"]), doc(title="Lupus, lupus and more lupus"))
    assert where(result.hits) == [("lupus", "title")]


def test_long_include_lists_are_shortened_in_the_reason() -> None:
    rule = topic(include=[f"term{i}x" for i in range(8)])
    result = one(rule, doc(title="nothing"))
    assert result.reason == (
        "no include term found (looked for 'term0x', 'term1x', 'term2x', 'term3x', "
        "'term4x' (+3 more))"
    )


# --- sources, tags, trusted sources --------------------------------------------------


def test_topic_without_sources_or_tags_takes_every_source() -> None:
    assert one(topic(include=["lupus"]), doc(title="Lupus", source="anything")).matched


def test_topic_with_sources_only_takes_those() -> None:
    rule = topic(include=["lupus"], sources=["Endpoints", "STAT"])
    assert one(rule, doc(title="Lupus", source="STAT")).matched
    result = one(rule, doc(title="Lupus", source="Reuters"))
    assert not result.matched
    assert where(result.hits) == []
    assert result.reason == (
        "source 'Reuters' not selected by this topic (it takes sources 'Endpoints', 'STAT')"
    )


def test_topic_with_tags_takes_sources_with_a_tag() -> None:
    rule = topic(include=["lupus"], tags=["biotech"])
    assert one(rule, doc(title="Lupus", source="Fierce", tags=["news", "biotech"])).matched
    result = one(rule, doc(title="Lupus", source="BBC", tags=["news"]))
    assert not result.matched
    assert result.reason == "source 'BBC' not selected by this topic (it takes tags 'biotech')"


def test_sources_and_tags_are_alternatives() -> None:
    rule = topic(include=["lupus"], sources=["STAT"], tags=["biotech"])
    assert one(rule, doc(title="Lupus", source="STAT")).matched
    assert one(rule, doc(title="Lupus", source="Fierce", tags=["biotech"])).matched
    assert not one(rule, doc(title="Lupus", source="BBC", tags=["news"])).matched


def test_trusted_source_matches_without_terms() -> None:
    rule = topic(include=["lupus"], sources=["STAT"], trusted_sources=["Lupus Foundation"])
    result = one(rule, doc(title="Annual gala raises funds", source="Lupus Foundation"))
    assert result.matched
    assert where(result.hits) == []
    assert result.reason == "trusted source 'Lupus Foundation'"


def test_trusted_source_also_reports_term_hits() -> None:
    rule = topic(include=["lupus"], trusted_sources=["Lupus Foundation"])
    result = one(rule, doc(title="Lupus walk", source="Lupus Foundation"))
    assert result.matched
    assert where(result.hits) == [("lupus", "title")]
    assert result.reason == "trusted source 'Lupus Foundation'; also include 'lupus' in title"


def test_exclude_wins_over_trusted_source() -> None:
    rule = topic(trusted_sources=["Wildlife Daily"], exclude=["canis lupus"])
    result = one(rule, doc(title="Canis lupus pups born", source="Wildlife Daily"))
    assert not result.matched
    assert result.reason == (
        "excluded by 'canis lupus' in title (exclude wins over trusted source 'Wildlife Daily')"
    )


def test_trusted_only_topic_ignores_other_sources() -> None:
    rule = topic(trusted_sources=["Lupus Foundation"])
    result = one(rule, doc(title="Lupus news", source="Reuters"))
    assert not result.matched
    assert result.reason == (
        "source 'Reuters' is not a trusted source of this topic and the topic has no "
        "include, require or query rule"
    )


# --- fields ----------------------------------------------------------------------------


def test_author_and_source_only_with_a_prefix() -> None:
    rule = topic(include=["author:Jane Smith", "source:Lupus Foundation"])
    assert one(rule, doc(author="Dr. Jane Smith")).matched
    result = one(rule, doc(source="Lupus Foundation Europe"))
    assert where(result.hits) == [("Lupus Foundation", "source")]
    assert not one(topic(include=["Jane Smith"]), doc(author="Jane Smith")).matched


def test_empty_and_missing_fields_are_fine() -> None:
    result = one(topic(include=["author:Smith"]), doc(author=None))
    assert not result.matched


# --- the matcher as a whole ------------------------------------------------------------


def test_one_result_per_topic_in_topic_order() -> None:
    matcher = compile_topics(
        [topic("b-cells", include=["B-cell"]), topic("car-t", include=["@car_t"]),
         topic("lupus", include=["@sle"], exclude=["@wolves"])],
        TERMS,
    )
    assert isinstance(matcher, TopicMatcher)
    assert matcher.slugs == ["b-cells", "car-t", "lupus"]
    results = matcher.match(doc(title="CAR T-cell therapy resets B cells in lupus"))
    assert [(r.topic, r.matched) for r in results] == [
        ("b-cells", True), ("car-t", True), ("lupus", True)
    ]
    results = matcher.match(doc(title="Grey wolf (canis lupus) returns"))
    assert [(r.topic, r.matched) for r in results] == [
        ("b-cells", False), ("car-t", False), ("lupus", False)
    ]
    assert results[2].reason == (
        "excluded by @wolves ('canis lupus' in title, 'grey wolf' in title)"
    )


def test_explain_says_what_terms_alone_would_do_for_an_unselected_source() -> None:
    matcher = compile_topics([topic(include=["lupus"], sources=["STAT"])], {})
    item = doc(title="Lupus", source="Reuters")
    [matched] = matcher.match(item)
    [explained] = matcher.explain(item)
    assert not matched.matched and not explained.matched
    assert explained.reason == (
        "source 'Reuters' not selected by this topic (it takes sources 'STAT'); "
        "by its terms alone it would match: matched include 'lupus' in title"
    )
    assert where(explained.hits) == [("lupus", "title")]
    [explained] = matcher.explain(doc(title="Myeloma", source="Reuters"))
    assert explained.reason.endswith(
        "by its terms alone it would not match either: no include term found "
        "(looked for 'lupus')"
    )


def test_explain_equals_match_for_selected_sources() -> None:
    matcher = compile_topics([topic(include=["lupus"], exclude=["canis lupus"])], {})
    for title in ("Lupus", "Canis lupus", "Nothing"):
        assert matcher.explain(doc(title=title)) == matcher.match(doc(title=title))


def test_many_terms_do_not_change_results() -> None:
    """The shared index must keep each topic's terms apart."""
    filler = [f"zz{i}mab" for i in range(300)]
    matcher = compile_topics(
        [topic("a", include=[*filler[:150], "CAR-T"]), topic("b", include=[*filler[150:]])],
        {},
    )
    results = matcher.match(doc(title="CAR-T and zz200mab"))
    assert [r.matched for r in results] == [True, True]
    assert where(results[0].hits) == [("CAR-T", "title")]
    assert where(results[1].hits) == [("zz200mab", "title")]


# --- RuleError -------------------------------------------------------------------------


def test_unknown_group_in_a_list() -> None:
    topics = [
        topic("a", include=["lupus"]),
        topic("b", include=["lupus"]),
        topic("c", include=["CAR-T", "@cart"]),
    ]
    with pytest.raises(RuleError) as caught:
        compile_topics(topics, TERMS)
    assert caught.value.problems == ["topics[2].include[1]: unknown term group 'cart'"]


def test_every_problem_is_reported_at_once() -> None:
    topics = [
        topic("a", include=["--"], require=["@nope"], exclude=["title:"]),
        topic("b", query="lupus)", include=["@bad-name"]),
    ]
    with pytest.raises(RuleError) as caught:
        compile_topics(topics, {"ok": ["lupus"], "broken": ["SLE", "@ok", "—"]})
    assert caught.value.problems == [
        "terms.broken[1]: '@ok': a group cannot refer to another group",
        "terms.broken[2]: term '—' has no letters or digits",
        "topics[0].include[0]: term '--' has no letters or digits",
        "topics[0].require[0]: unknown term group 'nope'",
        "topics[0].exclude[0]: empty term",
        "topics[1].include[0]: bad group reference '@bad-name'",
        "topics[1].query: unexpected ')' at position 5: there is no '(' to close",
    ]
    assert str(caught.value) == "; ".join(caught.value.problems)


def test_compile_without_terms_mapping() -> None:
    assert compile_topics([topic(include=["lupus"])]).slugs == ["t"]
