"""Identifiers: UUIDv7 made by the application (time-ordered, so indexes stay compact)."""

from uuid import UUID

from uuid_utils.compat import uuid7 as _uuid7


def new_id() -> UUID:
    return _uuid7()


def parse_id(value: str) -> UUID | None:
    """A UUID from untrusted text, or None (callers answer 404, never 500)."""
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
