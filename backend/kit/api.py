"""What every JSON API operation shares: the shape of its refusals, the refusals it documents in the
OpenAPI document, and the field-by-field check of a request body.

An operation lists every status it can answer with `responses=refusals(...)`, so the document the
API publishes (and the schemathesis run in the tests) holds it to all of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from backend.kit.forms import STORABLE, field_errors
from backend.kit.pagination import MAX_PAGE, MAX_PAGE_SIZE

# The query parameters of every API list: paging within the bounds PageRequest.clamp keeps on the
# pages, and search or filter text the database can compare.
PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Which page, from 1")]
PageSize = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="Rows per page")]
SearchText = Annotated[str, QueryParameter(pattern=STORABLE)]


class FieldProblem(msgspec.Struct):
    """One refused parameter, as the framework reports a value that does not fit its declared type."""

    message: str
    key: str
    source: str


class ApiError(msgspec.Struct, omit_defaults=True):
    """The body of every refusal: its status, what went wrong, and for refused input which fields
    and why (field -> message in the reader's language, or the framework's list of problems)."""

    status_code: int
    detail: str
    extra: dict[str, str] | list[FieldProblem] | None = None


# What each refusal means for the caller, as the document says it.
_MEANINGS = {
    400: "The input is refused: `extra` names each refused field and says why.",
    401: "No valid bearer token (missing, expired, for another workspace, or its login has changed).",
    403: "The token's role may not do this, or the workspace's plan has no API access (or no room for "
    "another one of these: `extra` says which limit), or the workspace is read-only for now.",
    404: "Nothing of that id exists for this caller (another party's or another workspace's object "
    "answers the same), or this kind of caller has no such operation.",
    409: "The change conflicts with the object's current state.",
    413: "The request body is larger than the server accepts.",
    429: "Too many attempts from this address or for this login: `Retry-After` says when to try again.",
}


def refusals(*statuses: int) -> dict[int, ResponseSpec]:
    """The `responses=` of an operation: each status it may refuse with, documented with its body."""
    return {
        status: ResponseSpec(data_container=ApiError, description=_MEANINGS[status], generate_examples=False)
        for status in statuses
    }


def body_checked(shape: type[msgspec.Struct], detail: str) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A `before_request` hook refusing a JSON body with every wrong field named at once (decoding
    alone stops at the first), checked by the very constraints the document publishes for `shape`."""

    async def check(request: Request[Any, Any, Any]) -> None:
        try:
            body = await request.json()
        except SerializationException:
            return  # not JSON at all: the decoding refuses it, in the framework's words
        if isinstance(body, dict) and (errors := field_errors(shape, body)):
            raise ValidationException(detail=detail, extra=dict(errors))
        # a body of another shape (an array, say) is refused by the decoding too

    return check
