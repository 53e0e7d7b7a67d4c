"""What a rule of the business answers when it refuses a step, with the HTTP status that says
which kind of "no" it is, so every page (and the API) answers the same refusal the same way
without knowing which rule spoke. Nothing of a refused step is kept."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import ClassVar


class DomainError(Exception):
    """Refused as asked (400): `message` is for the person who tried, `errors` names the fields
    it is about (none when the step is refused as a whole)."""

    status_code: ClassVar[int] = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: Mapping[str, str] = errors or {}


class Conflict(DomainError):
    """The record has moved on since the page was shown (someone else was faster, or the step no
    longer fits its state): 409, the same request will not succeed again."""

    status_code = HTTPStatus.CONFLICT
