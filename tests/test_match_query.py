"""The query language: parsing, evaluation against items, and error positions."""

from __future__ import annotations

import pytest

from aggregator.config import ConfigError, TopicConfig, parse_config
from aggregator.core.match import MatchDocument, QuerySyntaxError, RuleError, compile_topics
from aggregator.core.match.query import DEFAULT_FIELDS, And, Not, Or, Term, parse_query

GROUPS = {
    "car_t": ["CAR-T", "chimeric antigen receptor"],
    "sle": ["lupus", "SLE"],
}


def doc(
    title: str = "", summary: str = "", content: str = "", categories: list[str] | None = None,
    author: str | None = None, source: str = "wire",
) -> MatchDocument:
    return MatchDocument(title=title, summary=summary, content=content,
                         categories=categories or [], author=author, source=source)


def matches(query: str, item: MatchDocument) -> bool:
    matcher = compile_topics([TopicConfig(slug="q", title="Q", query=query)], GROUPS)
    return matcher.match(item)[0].matched


def term(text: str, fields: tuple[str, ...] = DEFAULT_FIELDS, position: int = 0,
         group: bool = False) -> Term:
    prefix = fields[0] if fields != DEFAULT_FIELDS else None
    return Term(text, group, fields, position, prefix)


# --- parsing -------------------------------------------------------------------------


def test_precedence_not_then_and_then_or() -> None:
    assert parse_query("a OR b AND NOT c") == Or((
        term("a"),
        And((term("b", position=5), Not(term("c", position=15)))),
    ))


def test_adjacent_terms_are_an_implicit_and() -> None:
    assert parse_query("lupus nephritis") == And((term("lupus"), term("nephritis", position=6)))


def test_parentheses_group() -> None:
    assert parse_query("(a OR b) c") == And((
        Or((term("a", position=1), term("b", position=6))),
        term("c", position=9),
    ))


def test_quoted_phrase_and_group_and_field_prefix() -> None:
    assert parse_query('title:"CAR T" @sle') == And((
        term("CAR T", ("title",), position=6),
        term("sle", position=14, group=True),
    ))


def test_field_prefix_applies_to_a_parenthesized_expression() -> None:
    assert parse_query("summary:(a OR NOT b)") == Or((
        term("a", ("summary",), position=9),
        Not(term("b", ("summary",), position=18)),
    ))


def test_lowercase_words_inside_a_phrase_are_not_operators() -> None:
    assert parse_query('"not or and"') == term("not or and")


def test_hyphenated_word_is_one_term() -> None:
    assert parse_query("CAR-T") == term("CAR-T")


# --- evaluation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("CAR-T AND lupus", "CAR-T trial in lupus patients", True),
        ("CAR-T AND lupus", "CAR-T trial in myeloma", False),
        ("CAR-T lupus", "Lupus patients get CAR T cells", True),
        ("CAR-T lupus", "Lupus patients get antibodies", False),
        ("CAR-T OR lupus", "Lupus patients get antibodies", True),
        ("CAR-T OR lupus", "Myeloma patients get antibodies", False),
        ("lupus AND NOT \"canis lupus\"", "Canis lupus sightings rise", False),
        ("lupus AND NOT \"canis lupus\"", "Lupus trial enrols first patient", True),
        ("lupus NOT mouse", "Lupus mouse model", False),
        ("NOT mouse", "Human trial", True),
        ("(CAR-T OR CAR-NK) AND (lupus OR myositis)", "CAR-NK in myositis", True),
        ("(CAR-T OR CAR-NK) AND (lupus OR myositis)", "CAR-NK in myeloma", False),
        ("CAR-T OR CAR-NK AND lupus", "CAR-T in myeloma", True),  # AND binds tighter
        ("@car_t AND lupus", "Chimeric antigen receptor therapy for lupus", True),
        ("@car_t AND lupus", "Chimeric antigen therapy for lupus", False),
        ("@car_t AND @sle", "CAR-T for SLE", True),
        ('"lupus nephritis"', "Lupus-nephritis approval", True),
        ('"lupus nephritis"', "Lupus and nephritis", False),
        ('"not guilty"', "Jury finds executive not guilty", True),
        ("NOT NOT lupus", "Lupus news", True),
    ],
)
def test_boolean_query(query: str, title: str, expected: bool) -> None:
    assert matches(query, doc(title=title)) is expected


@pytest.mark.parametrize(
    ("query", "item", "expected"),
    [
        ("title:lupus", doc(title="Lupus drug"), True),
        ("title:lupus", doc(summary="Lupus drug"), False),
        ("summary:lupus", doc(summary="Lupus drug"), True),
        ("content:lupus", doc(content="Lupus drug"), True),
        ("content:lupus", doc(title="Lupus drug"), False),
        ("category:Immunology", doc(categories=["Immunology", "Biotech"]), True),
        ("category:Immunology", doc(title="Immunology"), False),
        ("author:Smith", doc(author="Jane Smith"), True),
        ("Smith", doc(author="Jane Smith"), False),  # unprefixed: not the author
        ('source:"BioPharma Dive"', doc(source="BioPharma Dive"), True),
        ("BioPharma", doc(source="BioPharma Dive"), False),
        ("title:(CAR-T OR lupus)", doc(title="Lupus", summary="CAR-T"), True),
        ("title:(CAR-T AND lupus)", doc(title="Lupus", summary="CAR-T"), False),
        ("title:@car_t", doc(title="chimeric antigen receptor T cells"), True),
        ("title:@car_t", doc(summary="chimeric antigen receptor T cells"), False),
        ("lupus AND NOT title:mouse", doc(title="Lupus", summary="mouse model"), True),
        ("lupus AND NOT title:mouse", doc(title="Lupus mouse model"), False),
        ("TITLE:lupus", doc(title="Lupus"), True),  # field names ignore case
    ],
)
def test_field_prefix(query: str, item: MatchDocument, expected: bool) -> None:
    assert matches(query, item) is expected


def test_query_hits_name_the_term_and_field() -> None:
    matcher = compile_topics([TopicConfig(slug="q", title="Q", query="@car_t AND lupus")], GROUPS)
    [result] = matcher.match(doc(title="Lupus", summary="Chimeric antigen receptor cells"))
    assert result.matched
    assert [(hit.term, hit.field) for hit in result.hits] == [
        ("chimeric antigen receptor", "summary"),
        ("lupus", "title"),
    ]
    assert result.reason == (
        "matched query @car_t ('chimeric antigen receptor' in summary), 'lupus' in title"
    )


def test_failed_query_says_why() -> None:
    matcher = compile_topics(
        [TopicConfig(slug="q", title="Q", query='lupus AND NOT "canis lupus"')], {}
    )
    [result] = matcher.match(doc(summary="Canis lupus numbers grow"))
    assert not result.matched
    assert result.reason == (
        "query not satisfied: NOT 'canis lupus' failed ('canis lupus' in summary)"
    )
    [result] = matcher.match(doc(summary="Wolves"))
    assert result.reason == "query not satisfied: 'lupus' not found"


def test_failed_or_lists_every_branch() -> None:
    matcher = compile_topics([TopicConfig(slug="q", title="Q", query="title:a OR @sle")], GROUPS)
    [result] = matcher.match(doc(title="nothing here"))
    assert result.reason == "query not satisfied: none of: title:'a' not found, @sle not found"


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("lupus AND", "unexpected end of query at position 9: expected a term, \"phrase\", "
                      "@group or '(' after 'AND'", 9),
        ("(lupus OR sle", "unclosed '(' at position 0: expected ')' before the end of the "
                          "query (position 13)", 0),
        ("lupus OR sle)", "unexpected ')' at position 12: there is no '(' to close", 12),
        ("lupus AND OR sle", "unexpected 'OR' at position 10: expected a term, \"phrase\", "
                             "@group or '(' after 'AND'", 10),
        ('lupus "canis lupus', "unterminated phrase: the '\"' at position 6 has no "
                               "closing '\"'", 6),
        ("titel:lupus", "unknown field 'titel' at position 0: expected one of title, summary, "
                        "content, category, author, source (quote the text to search for it)", 0),
        ("lupus and sle", "'and' at position 6: operators are uppercase (AND); write \"and\" "
                          "in quotes to search for the word", 6),
        ("lupus Not mouse", "'Not' at position 6: operators are uppercase (NOT); write \"Not\" "
                            "in quotes to search for the word", 6),
        ("()", "unexpected ')' at position 1: expected a term, \"phrase\", @group or '('", 1),
        ('lupus ""', "empty phrase at position 6", 6),
        ("   ", "empty query: expected at least one term", 0),
        ("lupus -canis", "'-canis' at position 6: '-' is not an operator; write NOT canis "
                         "(or \"-canis\" in quotes to search for it)", 6),
        ("title:", "unexpected end of query at position 6: expected a term, \"phrase\", "
                   "@group or '(' after 'title:'", 6),
        ("title:(summary:x)", "field prefix 'summary:' at position 7 is inside 'title:' "
                              "(position 0): field prefixes cannot be nested", 7),
        ("a @", "bad group reference '@' at position 2: expected @ and a name of letters, "
                "digits and '_'", 2),
        ("lupus NOT", "unexpected end of query at position 9: expected a term, \"phrase\", "
                      "@group or '(' after 'NOT'", 9),
    ],
)
def test_syntax_error_position(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.message == message
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("(CAR-T OR CAR) lupus)", "topics[0].query: unexpected ')' at position 20: there is no "
                                  "'(' to close"),
        ("@car_t AND @cart", "topics[0].query: unknown term group 'cart' at position 11"),
        ("lupus AND &", "topics[0].query: term '&' at position 10 has no letters or digits"),
    ],
)
def test_rule_error_names_topic_key_and_position(query: str, problem: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_topics([TopicConfig(slug="q", title="Q", query=query)], GROUPS)
    assert caught.value.problems == [problem]


def test_rule_error_reports_every_bad_query() -> None:
    topics = [
        TopicConfig(slug="a", title="A", query="lupus AND"),
        TopicConfig(slug="b", title="B", query="lupus"),
        TopicConfig(slug="c", title="C", query="@nope OR @never"),
    ]
    with pytest.raises(RuleError) as caught:
        compile_topics(topics, GROUPS)
    assert caught.value.problems == [
        "topics[0].query: unexpected end of query at position 9: expected a term, "
        "\"phrase\", @group or '(' after 'AND'",
        "topics[2].query: unknown term group 'nope' at position 0",
        "topics[2].query: unknown term group 'never' at position 9",
    ]


def test_config_loader_reports_query_errors() -> None:
    data = {
        "sources": [{"name": "wire", "url": "https://example.org/feed.xml"}],
        "topics": [{"slug": "lupus", "title": "Lupus", "query": "lupus OR sle)"}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={})
    assert caught.value.problems == [
        "topics[0].query: unexpected ')' at position 12: there is no '(' to close"
    ]
