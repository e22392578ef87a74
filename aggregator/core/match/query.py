"""The boolean query language of `TopicConfig.query`.

Grammar (operators are UPPERCASE only, so the word "not" inside a phrase, or anywhere
quoted, is never an operator; a bare lowercase and/or/not is reported as an error
because it is almost always a mistyped operator)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          # adjacent terms: implicit AND
    unary    := "NOT" unary | [field ":"] primary
    primary  := WORD | '"' phrase '"' | "@" group | "(" or_expr ")"
    field    := title | summary | content | category | author | source

Precedence: NOT binds tightest, then AND, then OR. A WORD is any run of characters
other than whitespace, parentheses and double quotes; "CAR-T" is one word. Without a
field prefix a term is searched in title, summary, content and category.

Parsing yields a tree of `Term`, `Not`, `And`, `Or`; groups are resolved and terms
tokenized by the matcher. Errors raise `QuerySyntaxError` with a 0-based character
position and what was expected there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELDS: tuple[str, ...] = ("title", "summary", "content", "category", "author", "source")
DEFAULT_FIELDS: tuple[str, ...] = ("title", "summary", "content", "category")
GROUP_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_OPERATORS = ("AND", "OR", "NOT")
_WORD_RE = re.compile(r'[^\s()"]+')
_FIELD_PREFIX_RE = re.compile(r"([A-Za-z]+):")
_EXPECTED_OPERAND = 'expected a term, "phrase", @group or \'(\''


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `position` is a 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Term:
    """A word, "phrase" or @group, with the fields it is searched in."""

    text: str  # as written, without quotes, field prefix or '@'
    is_group: bool
    fields: tuple[str, ...]
    position: int
    field_prefix: str | None = None  # the prefix as written, for explanations


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "phrase", "group", "field", "op", "(", ")"
    value: str
    position: int

    def shown(self) -> str:
        if self.kind == "phrase":
            return f'"{self.value}"'
        if self.kind == "group":
            return f"@{self.value}"
        if self.kind == "field":
            return f"{self.value}:"
        return self.value


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f"unterminated phrase: the '\"' at position {i} has no closing '\"'", i
                )
            if not query[i + 1 : end].strip():
                raise QuerySyntaxError(f"empty phrase at position {i}", i)
            tokens.append(_Token("phrase", query[i + 1 : end], i))
            i = end + 1
        else:
            word = _WORD_RE.match(query, i).group()  # type: ignore[union-attr]
            i = _lex_word(query, word, i, tokens)
    return tokens


def _lex_word(query: str, word: str, i: int, tokens: list[_Token]) -> int:
    """Classify one bare word; return where lexing continues."""
    if word in _OPERATORS:
        tokens.append(_Token("op", word, i))
        return i + len(word)
    if word.upper() in _OPERATORS:
        raise QuerySyntaxError(
            f"{word!r} at position {i}: operators are uppercase ({word.upper()}); "
            f'write "{word}" in quotes to search for the word',
            i,
        )
    prefix = _FIELD_PREFIX_RE.match(word)
    if prefix:
        name = prefix.group(1).lower()
        if name not in FIELDS:
            raise QuerySyntaxError(
                f"unknown field {prefix.group(1)!r} at position {i}: "
                f"expected one of {', '.join(FIELDS)} (quote the text to search for it)",
                i,
            )
        tokens.append(_Token("field", name, i))
        return i + prefix.end()  # lex what follows the colon as its own token
    if word.startswith("@"):
        name = word[1:]
        if not GROUP_NAME_RE.fullmatch(name):
            raise QuerySyntaxError(
                f"bad group reference {word!r} at position {i}: expected @ and a name of "
                "letters, digits and '_'",
                i,
            )
        tokens.append(_Token("group", name, i))
        return i + len(word)
    if word.startswith("-") and len(word) > 1:
        raise QuerySyntaxError(
            f"{word!r} at position {i}: '-' is not an operator; write NOT {word[1:]} "
            f'(or "{word}" in quotes to search for it)',
            i,
        )
    tokens.append(_Token("word", word, i))
    return i + len(word)


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.index = 0
        self.field: _Token | None = None  # the field prefix in force, if any

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("empty query: expected at least one term", 0)
        node = self.or_expr()
        token = self.peek()
        if token is not None:  # only a stray ')' can stop or_expr early
            raise QuerySyntaxError(
                f"unexpected ')' at position {token.position}: there is no '(' to close",
                token.position,
            )
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "op" and token.value == "OR":
            self.take()
            children.append(self.and_expr(after=token))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, after: _Token | None = None) -> Node:
        children = [self.unary(after)]
        while (token := self.peek()) is not None:
            if token.kind == "op" and token.value == "AND":
                self.take()
                children.append(self.unary(after=token))
            elif token.kind in ("word", "phrase", "group", "field", "(") or (
                token.kind == "op" and token.value == "NOT"
            ):
                children.append(self.unary())  # implicit AND
            else:
                break
        flat: list[Node] = []
        for child in children:
            flat.extend(child.children if isinstance(child, And) else (child,))
        return flat[0] if len(flat) == 1 else And(tuple(flat))

    def unary(self, after: _Token | None = None) -> Node:
        token = self.peek()
        if token is not None and token.kind == "op" and token.value == "NOT":
            self.take()
            return Not(self.unary(after=token))
        return self.primary(after)

    def primary(self, after: _Token | None) -> Node:
        token = self.peek()
        if token is None:
            where = f" after {after.shown()!r}" if after is not None else ""
            raise QuerySyntaxError(
                f"unexpected end of query at position {len(self.query)}: "
                f"{_EXPECTED_OPERAND}{where}",
                len(self.query),
            )
        if token.kind == "field":
            return self.prefixed(self.take())
        self.take()
        if token.kind in ("word", "phrase", "group"):
            return self.term(token)
        if token.kind == "(":
            node = self.or_expr()
            closing = self.peek()
            if closing is None:
                raise QuerySyntaxError(
                    f"unclosed '(' at position {token.position}: expected ')' before the "
                    f"end of the query (position {len(self.query)})",
                    token.position,
                )
            self.take()  # or_expr stops only at the end or at ')'
            return node
        where = f" after {after.shown()!r}" if after is not None else ""
        raise QuerySyntaxError(
            f"unexpected {token.shown()!r} at position {token.position}: "
            f"{_EXPECTED_OPERAND}{where}",
            token.position,
        )

    def prefixed(self, field: _Token) -> Node:
        if self.field is not None:
            raise QuerySyntaxError(
                f"field prefix {field.shown()!r} at position {field.position} is inside "
                f"{self.field.shown()!r} (position {self.field.position}): "
                "field prefixes cannot be nested",
                field.position,
            )
        following = self.peek()
        if following is None or following.kind not in ("word", "phrase", "group", "("):
            position = following.position if following is not None else len(self.query)
            found = repr(following.shown()) if following is not None else "end of query"
            raise QuerySyntaxError(
                f"unexpected {found} at position {position}: {_EXPECTED_OPERAND} "
                f"after {field.shown()!r}",
                position,
            )
        self.field = field
        try:
            return self.primary(after=field)
        finally:
            self.field = None

    def term(self, token: _Token) -> Term:
        fields = (self.field.value,) if self.field is not None else DEFAULT_FIELDS
        return Term(
            text=token.value,
            is_group=token.kind == "group",
            fields=fields,
            position=token.position,
            field_prefix=self.field.value if self.field is not None else None,
        )


def parse_query(query: str) -> Node:
    """Parse a query string into a tree; raise QuerySyntaxError with a position."""
    return _Parser(query, _lex(query)).parse()


def terms_of(node: Node) -> list[Term]:
    """Every Term leaf of a tree, in query order (for validation)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms_of(node.child)
    return [term for child in node.children for term in terms_of(child)]
