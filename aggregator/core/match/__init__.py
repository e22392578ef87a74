"""The match stage: which topics an item belongs to, and why (pure, no I/O).

Public API::

    matcher = compile_topics(config.topics, config.terms)   # RuleError if a rule is bad
    for result in matcher.match(MatchDocument(...)):       # one TopicMatch per topic
        ...

See `query` for the query language, `text` for how terms are compared with text and
`matcher` for the topic semantics.
"""

from aggregator.core.match.matcher import MatchDocument, RuleError, TopicMatcher, compile_topics
from aggregator.core.match.passages import ParagraphCounts
from aggregator.core.match.query import DEFAULT_FIELDS, FIELDS, QuerySyntaxError, parse_query
from aggregator.core.match.relevance import DEFAULT_MIN_SCORE, distinct_hits, story_score

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_MIN_SCORE",
    "FIELDS",
    "MatchDocument",
    "ParagraphCounts",
    "QuerySyntaxError",
    "RuleError",
    "TopicMatcher",
    "compile_topics",
    "distinct_hits",
    "parse_query",
    "story_score",

]
