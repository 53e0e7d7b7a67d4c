"""The one way a page answers a refused step: `form_page` runs the step, and a DomainError it
raises (an invalid form, a refusal, a conflict) shows the page again with the messages and the
error's own status (400, 409), while the request's transaction rolls back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from inspect import isawaitable
from typing import Any

from backend.kit.errors import DomainError

Context = dict[str, Any]


class FormRejected(Exception):
    """Raised (so the transaction rolls back) and rendered by the exception handler."""

    def __init__(self, template: str, context: Context, status_code: int) -> None:
        super().__init__(template)
        self.template = template
        self.context = context
        self.status_code = status_code


@asynccontextmanager
async def form_page(
    template: str, context_of: Callable[[DomainError], Context | Awaitable[Context]]
) -> AsyncIterator[None]:
    """`async with form_page("x.html", lambda refused: {...}):` around a step: a refusal renders
    `template` with what `context_of(refusal)` builds (the page's context with the refusal's
    messages where the page shows them)."""
    try:
        yield
    except DomainError as refused:
        context = context_of(refused)
        raise FormRejected(
            template, await context if isawaitable(context) else context, refused.status_code
        ) from refused
