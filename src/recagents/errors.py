"""Errors with messages a person (or an LLM) can act on.

Every error raised on purpose by recagents derives from ``RecagentsError``; the CLI prints its
message as one line and exits non-zero, the tools wrap it into ``{"status": "failure", ...}``,
the API maps it to a 4xx.
"""

from __future__ import annotations


class RecagentsError(Exception):
    """Base class: the message says what went wrong and what to fix."""


class InvalidArgumentError(RecagentsError, ValueError):
    """A request argument is out of range or malformed (k <= 0, bad JSON, ...)."""


class NotFoundError(RecagentsError, LookupError):
    """An id or name that does not exist (unknown user, item, genre, person, handle)."""


class UnknownUserError(NotFoundError):
    pass


class UnknownItemError(NotFoundError):
    pass


class NotBuiltError(RecagentsError):
    """A store or model has not been built yet: run `recagents setup`."""


class BackendUnavailableError(RecagentsError, ConnectionError):
    """A database, vector store or LLM endpoint cannot be reached."""


class DataError(RecagentsError):
    """An input file is missing, corrupted or has an unexpected schema."""


class EmptyResultError(RecagentsError):
    """A valid request that matches nothing; ``data`` says what would (e.g. relaxations)."""

    def __init__(self, message: str, data: object = None) -> None:
        super().__init__(message)
        self.data = data
