"""Deciding, for each topic, whether an item belongs to it, and saying why.

`compile_topics` turns the configured topics into a `TopicMatcher` once: every term of
every topic (and of the `[terms]` groups) goes into one shared `PhraseIndex`, so an
item's text is folded and tokenized once per field, however many topics and terms
there are. All rule problems of all topics are collected into one `RuleError`, each
naming the topic and key, because the config loader reports them all at once.

Topic semantics:

* Only items whose source is in `sources`, or carries one of `tags`, are considered
  (both empty: every source). Items of `trusted_sources` are always considered.
* An item of a trusted source matches with no terms needed, unless an exclude term
  hits: exclude always wins.
* Otherwise `include` (any of), `require` (all of) and `query` must each hold if given.
* Any list entry may be `@group` (a `[terms]` group: matches if any member does) and
  may start with a field prefix such as `title:`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aggregator.core.match.index import PhraseIndex
from aggregator.core.match.passages import Passage, html_paragraphs, passages
from aggregator.core.match.query import (
    DEFAULT_FIELDS,
    FIELDS,
    GROUP_NAME_RE,
    And,
    Node,
    Not,
    QuerySyntaxError,
    Term,
    parse_query,
)
from aggregator.core.match.relevance import (
    DEFAULT_MIN_SCORE,
    NOTHING,
    WEIGHTS,
    Located,
    Reading,
    TermInfo,
    locate,
    score,
    term_info,
    vocabulary_of,
    weigh,
)
from aggregator.core.match.rules import (
    Atom,
    Found,
    Log,
    QAnd,
    QAtom,
    QNode,
    QNot,
    QOr,
    describe,
    describe_atoms,
)
from aggregator.core.match.synonyms import Synonyms
from aggregator.core.match.text import tokenize
from aggregator.models import TermHit, TopicMatch

_LIST_PREFIX_RE = re.compile(r"([A-Za-z]+):\s*")
_RUNNING_TEXT = ("title", "summary", "content")


@dataclass(slots=True)
class MatchDocument:
    """The parts of an item the matcher looks at; text fields are already plain text."""

    title: str
    summary: str
    content: str
    categories: list[str]
    author: str | None
    source: str  # source name
    source_tags: list[str] = field(default_factory=list)
    # The HTML the text fields came from, for paragraphs (empty: each field is one).
    summary_html: str = ""
    content_html: str = ""
    # `passages.paragraph_key`s of paragraphs this source repeats across its items.
    repeated: frozenset[str] = frozenset()

    def passages(self) -> list[Passage]:
        """The item's text as located passages (see `passages`)."""
        return passages(
            self.title,
            [
                ("summary", html_paragraphs(self.summary_html) or _one(self.summary)),
                ("content", html_paragraphs(self.content_html) or _one(self.content)),
            ],
            self.repeated,
        )


def _one(text: str) -> list[str]:
    return [text] if text else []


class RuleError(ValueError):
    """Topic rules that cannot be compiled; `problems` has one line per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("; ".join(self.problems))


class TopicRules(Protocol):
    """What compile_topics reads from a topic (aggregator.config.TopicConfig)."""

    slug: str
    include: list[str]
    require: list[str]
    exclude: list[str]
    query: str | None
    sources: list[str]
    tags: list[str]
    trusted_sources: list[str]
    min_score: float | None  # None: DEFAULT_MIN_SCORE
    synonyms: bool  # add the shipped synonym set a term names


@dataclass(frozen=True, slots=True)
class _Topic:
    slug: str
    sources: frozenset[str]
    tags: frozenset[str]
    trusted: frozenset[str]
    include: tuple[Atom, ...]
    require: tuple[Atom, ...]
    exclude: tuple[Atom, ...]
    query: QNode | None
    include_pids: frozenset[int] = frozenset()  # every phrase id of the include atoms
    exclude_pids: frozenset[int] = frozenset()
    no_include: str = ""  # the (constant) reason when no include term is found
    min_score: float = DEFAULT_MIN_SCORE
    vocabulary: frozenset[str] = frozenset()  # content words of its terms (abbreviations)
    context: frozenset[str] = frozenset()  # cue words of its synonym sets' domains

    @property
    def include_only(self) -> bool:
        return bool(self.include) and not self.require and self.query is None

    def considers(self, doc: MatchDocument) -> bool:
        if doc.source in self.trusted:
            return True
        if not self.sources and not self.tags:
            return True
        return doc.source in self.sources or not self.tags.isdisjoint(doc.source_tags)

    def not_selected(self, doc: MatchDocument) -> str:
        """Why `considers(doc)` is false, naming what the topic does take."""
        takes = [f"sources {', '.join(map(repr, sorted(self.sources)))}"] if self.sources else []
        if self.tags:
            takes.append(f"tags {', '.join(map(repr, sorted(self.tags)))}")
        if self.trusted:
            takes.append(f"trusted sources {', '.join(map(repr, sorted(self.trusted)))}")
        return f"source '{doc.source}' not selected by this topic (it takes {' and '.join(takes)})"

    def decide(self, doc: MatchDocument, reading: Reading) -> TopicMatch:
        """Apply the term rules (the source is already known to be considered), then
        the score: each rule group (include, each require, query) must reach its share
        of `min_score`."""
        found = reading.found
        nothing = self.include_pids.isdisjoint(found) and self.exclude_pids.isdisjoint(found)
        if nothing and self.include_only and doc.source not in self.trusted:
            return TopicMatch(self.slug, False, [], self.no_include)  # the common case
        excluded = [] if self.exclude_pids.isdisjoint(found) else _log(self.exclude, found)
        log: Log = []
        passed: list[str] = []
        failed: list[str] = []
        groups: list[tuple[str, Log]] = []  # (rule, its hits), each must reach its share
        if self.include:
            included = [] if self.include_pids.isdisjoint(found) else _log(self.include, found)
            log += included
            if included:
                passed.append(f"include {describe(included)}")
                groups.append(("include", included))
            else:
                failed.append(self.no_include)
        if self.require:
            required = _log(self.require, found)
            log += required
            missing = tuple(atom for atom in self.require if not atom.hits(found))
            if missing:
                failed.append(f"require {describe_atoms(missing)} not found")
            else:
                passed.append(f"require {describe(required)}")
                groups += [(f"require {atom.shown()}", [(atom, h)]) for atom, h in required]
        if self.query is not None:
            queried: Log = []
            if self.query.evaluate(found, queried):
                passed.append(f"query {describe(queried)}" if queried else "query")
                if queried:  # a query of NOT terms alone has no hits to weigh
                    groups.append(("query", queried))
            else:
                failed.append(f"query not satisfied: {self.query.why_not(found)}")
            log += queried
        weighed = weigh(_unique(log), reading, self.vocabulary, self.context) if log else NOTHING
        hits = weighed.hits
        if weighed.remark:
            passed.append(weighed.remark)
        total = score(hit.weight for hit in hits)
        if not failed and groups:
            share = self.min_score / len(groups)
            for rule, group_log in groups:
                group_score = score(weighed.weight_of(hit) for hit in _unique(group_log))
                if group_score < share:
                    failed.append(_too_weak(rule, group_score, share, len(groups), hits))
        if excluded:
            trusted = doc.source in self.trusted
            note = f" (exclude wins over trusted source '{doc.source}')" if trusted else ""
            return TopicMatch(
                self.slug, False, _unique(log + excluded),
                f"excluded by {describe(excluded)}{note}", total,
            )
        if doc.source in self.trusted:
            extra = f"; also {'; '.join(passed)}" if passed and not failed else ""
            return TopicMatch(
                self.slug, True, hits, f"trusted source '{doc.source}'{extra}", total
            )
        if not (self.include or self.require or self.query is not None):
            return TopicMatch(
                self.slug, False, hits,
                f"source '{doc.source}' is not a trusted source of this topic and the topic "
                "has no include, require or query rule",
            )
        if failed:
            return TopicMatch(self.slug, False, hits, "; ".join(failed), total)
        return TopicMatch(self.slug, True, hits, "matched " + "; ".join(passed), total)


def _too_weak(rule: str, got: float, share: float, groups: int, hits: list[TermHit]) -> str:
    """Why a rule's hits did not reach its share of min_score, naming the discounts."""
    of = f" (min_score / {groups} rules)" if groups > 1 else " (min_score)"
    notes = sorted({f"{hit.term!r} {hit.note}" for hit in hits if hit.note})
    located = sorted({f"{hit.term!r} in {hit.location}" for hit in hits if not hit.note})
    why = "; ".join(filter(None, [", ".join(located), ", ".join(notes)]))
    return f"{rule}: score {got:.2f} below {share:.2f}{of}: {why}"


def _log(atoms: tuple[Atom, ...], found: Found) -> Log:
    """The atoms that hit, with their hits."""
    log: Log = []
    for atom in atoms:
        hits = atom.hits(found)
        if hits:
            log.append((atom, hits))
    return log


def _unique(log: Log) -> list[TermHit]:
    """Every hit once, in the order found."""
    return list(dict.fromkeys(hit for _, hits in log for hit in hits))


class TopicMatcher:
    """All topics' rules, compiled; `match` decides every topic for one item."""

    def __init__(
        self, topics: list[_Topic], index: PhraseIndex, fields: tuple[str, ...],
        info: list[TermInfo],
    ):
        self._topics = topics
        self._index = index
        self._info = info  # by phrase id
        self._fields = fields  # the fields any rule looks at
        self.slugs: list[str] = [topic.slug for topic in topics]

    def match(self, doc: MatchDocument) -> list[TopicMatch]:
        """One TopicMatch per topic, in topic order."""
        return self._run(doc, explain=False, search=False)[0]

    def match_and_mentions(self, doc: MatchDocument) -> tuple[list[TopicMatch], bool]:
        """match(), and whether any topic's terms occur in the item, whatever source it
        comes from: a copy of a topic's story on a source the topic does not select
        still belongs in the story (the dedupe scope, aggregator.core.process)."""
        results, found = self._run(doc, explain=False, search=True)
        return results, bool(found)

    def explain(self, doc: MatchDocument) -> list[TopicMatch]:
        """Like match(), but for a source a topic does not select, also say what its
        terms alone would have decided (for debugging a topic's configuration)."""
        return self._run(doc, explain=True, search=True)[0]

    def _run(
        self, doc: MatchDocument, explain: bool, search: bool
    ) -> tuple[list[TopicMatch], Found]:
        """The topics' verdicts and the terms found; terms are searched for when a topic
        considers the item's source, or always with `search`."""
        considered = [topic.considers(doc) for topic in self._topics]
        reading = self._read(doc) if search or any(considered) else Reading({})
        results: list[TopicMatch] = []
        for topic, considers in zip(self._topics, considered, strict=True):
            if considers:
                results.append(topic.decide(doc, reading))
                continue
            reason = topic.not_selected(doc)
            hits: list[TermHit] = []
            if explain:
                would = topic.decide(doc, reading)
                verdict = "would match" if would.matched else "would not match either"
                reason += f"; by its terms alone it {verdict}: {would.reason}"
                hits = would.hits
            results.append(TopicMatch(topic.slug, False, hits, reason))
        return results, reading.found

    def _read(self, doc: MatchDocument) -> Reading:
        """Each phrase's weighed occurrences in the item. The running text (title,
        summary, content) is only cut into passages and read closely when one of its
        words starts a phrase; a hit in a field that is not running text (a category,
        the author, the source) is a label someone gave the item: it weighs like a
        headline hit."""
        texts = self._texts(doc)
        running = [text for name, text in texts if name in _RUNNING_TEXT]
        labels = [(name, text) for name, text in texts if name not in _RUNNING_TEXT]
        if any(self._index.may_occur(text) for text in running):
            reading = locate(self._index, None, self._info, doc.passages())
        else:
            reading = Reading({})
        for pid, where in (self._index.search(labels) if labels else {}).items():
            for name in where:
                reading.found.setdefault(pid, []).append(
                    Located(name, "metadata", WEIGHTS["metadata"], self._index_text(pid))
                )
        return reading

    def _index_text(self, pid: int) -> str:
        return " ".join(self._index.phrase(pid))

    def _texts(self, doc: MatchDocument) -> list[tuple[str, str]]:
        texts: list[tuple[str, str]] = []
        for name in self._fields:
            if name == "category":
                texts.extend(("category", category) for category in doc.categories)
            else:
                value = getattr(doc, name)
                if value:
                    texts.append((name, value))
        return texts


class _Compiler:
    """Collects every problem while compiling, so all are reported at once."""

    def __init__(self, terms: Mapping[str, list[str]], synonyms: Synonyms) -> None:
        self.index = PhraseIndex()
        self.problems: list[str] = []
        self.fields: set[str] = set()
        self.synonyms = synonyms
        self.spellings: dict[int, list[str]] = {}  # phrase id -> every spelling written
        self.groups: dict[str, tuple[tuple[int, str, str], ...]] = {}
        for name, members in terms.items():
            compiled = []
            for position, member in enumerate(members):
                where = f"terms.{name}[{position}]"
                if member.strip().startswith("@"):
                    self.problems.append(
                        f"{where}: {member!r}: a group cannot refer to another group"
                    )
                    continue
                pid = self.phrase(member, where)
                if pid is not None:
                    compiled.append((pid, member, ""))
            self.groups[name] = tuple(compiled)

    def phrase(self, text: str, where: str, at: str = "") -> int | None:
        tokens = tuple(tokenize(text))
        if not tokens:
            self.problems.append(f"{where}: term {text!r}{at} has no letters or digits")
            return None
        pid = self.index.add(tokens)
        self.spellings.setdefault(pid, []).append(text)
        return pid

    def with_synonyms(
        self, members: tuple[tuple[int, str, str], ...]
    ) -> tuple[tuple[int, str, str], ...]:
        """The members plus the synonym set each one names (a phrase once, as the
        curator wrote it if they did)."""
        result = list(members)
        for _, text, _ in members:
            synonym_set = self.synonyms.set_for(text)
            if synonym_set is not None:
                self.context |= synonym_set.context
                for term in synonym_set.terms:
                    pid = self.phrase(term, f"synonyms.{synonym_set.key}")
                    if pid is not None:
                        result.append((pid, term, text))
        unique: dict[int, tuple[int, str, str]] = {}
        for member in result:
            unique.setdefault(member[0], member)
        return tuple(unique.values())

    def atom(
        self, text: str, is_group: bool, fields: tuple[str, ...], prefix: str | None,
        where: str, at: str = "",
    ) -> Atom | None:
        self.fields.update(fields)
        if is_group:
            members = self.groups.get(text)
            if members is None:
                self.problems.append(f"{where}: unknown term group '{text}'{at}")
                return None
            return Atom(f"@{text}", self.expand(members), fields, prefix)
        pid = self.phrase(text, where, at)
        if pid is None:
            return None
        return Atom(text, self.expand(((pid, text, ""),)), fields, prefix)

    def expand(
        self, members: tuple[tuple[int, str, str], ...]
    ) -> tuple[tuple[int, str, str], ...]:
        return self.with_synonyms(members) if self.use_synonyms else members

    def entry(self, entry: str, where: str) -> Atom | None:
        """An include/require/exclude entry: [field:] (term | "phrase" | @group)."""
        text = entry.strip()
        fields, prefix = DEFAULT_FIELDS, None
        match = _LIST_PREFIX_RE.match(text)
        if match and match.group(1).lower() in FIELDS:
            prefix = match.group(1).lower()
            fields = (prefix,)
            text = text[match.end():]
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].strip()
        if not text:
            self.problems.append(f"{where}: empty term")
            return None
        if text.startswith("@"):
            if not GROUP_NAME_RE.fullmatch(text[1:]):
                self.problems.append(f"{where}: bad group reference {text!r}")
                return None
            return self.atom(text[1:], True, fields, prefix, where)
        return self.atom(text, False, fields, prefix, where)

    def query(self, query: str, where: str) -> QNode | None:
        try:
            tree = parse_query(query)
        except QuerySyntaxError as error:
            self.problems.append(f"{where}: {error.message}")
            return None
        return self.node(tree, where)

    def node(self, node: Node, where: str) -> QNode | None:
        if isinstance(node, Term):
            at = f" at position {node.position}"
            atom = self.atom(node.text, node.is_group, node.fields, node.field_prefix,
                             where, at)
            return None if atom is None else QAtom(atom)
        if isinstance(node, Not):
            child = self.node(node.child, where)
            return None if child is None else QNot(child)
        children = [self.node(child, where) for child in node.children]
        if any(child is None for child in children):
            return None
        kept = tuple(child for child in children if child is not None)
        return QAnd(kept) if isinstance(node, And) else QOr(kept)

    def topic(self, index: int, topic: TopicRules) -> _Topic | None:
        before = len(self.problems)
        self.use_synonyms = getattr(topic, "synonyms", True)
        self.context: frozenset[str] = frozenset()  # filled by with_synonyms
        min_score = getattr(topic, "min_score", None)
        lists: dict[str, list[Atom]] = {"include": [], "require": [], "exclude": []}
        for key, atoms in lists.items():
            for position, entry in enumerate(getattr(topic, key)):
                atom = self.entry(entry, f"topics[{index}].{key}[{position}]")
                if atom is not None:
                    atoms.append(atom)
        query = None
        if topic.query is not None:
            query = self.query(topic.query, f"topics[{index}].query")
        if len(self.problems) > before:
            return None
        include = tuple(lists["include"])
        written = [
            text for atom in [*include, *lists["require"], *_query_atoms(query)]
            for _, text, _ in atom.members
        ]
        return _Topic(
            slug=topic.slug,
            sources=frozenset(topic.sources),
            tags=frozenset(topic.tags),
            trusted=frozenset(topic.trusted_sources),
            include=include,
            require=tuple(lists["require"]),
            exclude=tuple(lists["exclude"]),
            query=query,
            include_pids=_pids(lists["include"]),
            exclude_pids=_pids(lists["exclude"]),
            no_include=f"no include term found (looked for {describe_atoms(include)})",
            min_score=DEFAULT_MIN_SCORE if min_score is None else min_score,
            vocabulary=vocabulary_of(written),
            context=self.context,
        )


def _query_atoms(node: QNode | None) -> list[Atom]:
    if node is None:
        return []
    if isinstance(node, QAtom):
        return [node.atom]
    if isinstance(node, QNot):
        return []  # a NOT term says what the topic is not about
    return [atom for child in node.children for atom in _query_atoms(child)]


def _pids(atoms: list[Atom]) -> frozenset[int]:
    """All phrase ids of some atoms: if none was found, no atom needs checking."""
    return frozenset(pid for atom in atoms for pid, _, _ in atom.members)


def compile_topics(
    topics: Sequence[TopicRules],
    terms: Mapping[str, list[str]] | None = None,
    synonyms: Mapping[str, list[str]] | None = None,
) -> TopicMatcher:
    """Compile every topic's rule; raise RuleError listing every problem found.
    `synonyms` adds terms to the shipped synonym sets, by set key."""
    try:
        shipped = Synonyms(synonyms)
    except ValueError as error:
        raise RuleError([f"synonyms: {error}"]) from None
    compiler = _Compiler(terms or {}, shipped)
    compiled = [compiler.topic(index, topic) for index, topic in enumerate(topics)]
    if compiler.problems:
        raise RuleError(compiler.problems)
    fields = tuple(name for name in FIELDS if name in compiler.fields)
    info = [
        term_info(compiler.spellings.get(pid, [])) for pid in range(len(compiler.index))
    ]
    return TopicMatcher([topic for topic in compiled if topic is not None], compiler.index,
                        fields, info)
