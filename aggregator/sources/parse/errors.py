"""The one error every parser raises when a document holds no feed at all."""

from __future__ import annotations


class FeedParseError(Exception):
    """The document yielded no feed at all; the message says what it was instead."""

    def __init__(self, message: str, alternates: list[str] | None = None):
        super().__init__(message)
        self.alternates = alternates or []

    def __reduce__(self) -> tuple[type[FeedParseError], tuple[str, list[str]]]:
        return (FeedParseError, (str(self), self.alternates))  # across worker processes
