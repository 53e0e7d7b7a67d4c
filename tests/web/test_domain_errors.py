"""A refused step answers with the refusal's own status: a form page shows itself again through
`form_page` (400 for a refusal, 409 when the record has moved on), and a refusal no page caught
(an API call) is a 400 or 409 with its messages, never a server error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar, post
from litestar.params import FromPath

from backend.kit.errors import Conflict, DomainError
from backend.kit.forms import FieldErrors, InvalidForm
from portals.shared.errors import EXCEPTION_HANDLERS
from portals.shared.forms import FormRejected, form_page


async def test_a_refused_step_renders_its_page_with_the_refusals_status() -> None:
    seen: list[DomainError] = []

    def context_of(refused: DomainError) -> dict[str, Any]:
        seen.append(refused)
        return {"errors": refused.errors}

    with pytest.raises(FormRejected) as invalid:
        async with form_page("page.html", context_of):
            raise InvalidForm(FieldErrors(name="This field is required."))
    assert (invalid.value.template, invalid.value.status_code) == ("page.html", 400)
    assert invalid.value.context == {"errors": {"name": "This field is required."}}

    async def later(refused: DomainError) -> dict[str, Any]:
        return {"notice": refused.message}

    with pytest.raises(FormRejected) as moved_on:
        async with form_page("page.html", later):
            raise Conflict("Someone else was faster.")
    assert moved_on.value.status_code == 409
    assert moved_on.value.context == {"notice": "Someone else was faster."}

    async with form_page("page.html", context_of):
        pass  # a step that goes through renders nothing here
    assert len(seen) == 1


@post("/api/v1/probe/{outcome:str}")
async def probe(outcome: FromPath[str]) -> None:
    if outcome == "invalid":
        raise InvalidForm(FieldErrors(name="This field is required."))
    raise Conflict("Someone else was faster.")


async def test_a_refusal_no_page_caught_keeps_its_status() -> None:
    app = Litestar(route_handlers=[probe], exception_handlers=EXCEPTION_HANDLERS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        invalid = await client.post("/api/v1/probe/invalid")
        conflict = await client.post("/api/v1/probe/conflict")
    assert invalid.status_code == 400
    assert invalid.json()["extra"] == {"name": "This field is required."}
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == "Someone else was faster."
