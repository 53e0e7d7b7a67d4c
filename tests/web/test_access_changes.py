"""When a person's access changes, every session and token made before ends on its next request:
a deactivated buyer's API token creates no supplier, a role change logs the old session out, and
each workspace's decision touches that workspace's access only. (A new password ends everything
everywhere: test_account_takeover.py.)

One person, `twin`, works for acme and globex; each test restores what it changed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.service import PersonForm, add_person
from backend.dev.demo import DemoData
from backend.models import MembershipKind
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.people import give_login, taking_away_memberships_made
from tests.web.conftest import api_token

PASSWORD = "twin-password-1234"


@pytest.fixture(scope="module", autouse=True)
async def _people_leave_with_the_module(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """The people these tests add leave with them: the demo workspaces keep their plan's seats."""
    async with taking_away_memberships_made(owner_engine):
        yield


@dataclass(frozen=True)
class Twin:
    email: str
    acme_membership: UUID
    globex_membership: UUID


@pytest.fixture(scope="module")
async def twin(db: Database, demo: DemoData) -> Twin:
    email = f"twin-{secrets.token_hex(3)}@example.test"
    memberships = {}
    for slug, roles in (("acme", ["viewer"]), ("globex", ["buyer"])):
        async with db.transaction(TenantContext.system(demo.tenants[slug].id)) as session:
            await give_login(session, email, PASSWORD, "Tess Twin")
            form = PersonForm(email=email, full_name="Tess Twin", roles=roles)
            memberships[slug] = (await add_person(session, form, kind=MembershipKind.STAFF, welcome=False)).id
    return Twin(email, memberships["acme"], memberships["globex"])


def _api(app: HostDispatcher, host: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", headers=headers)


async def _token(app: HostDispatcher, host: str, email: str) -> str:
    async with _api(app, host) as api:
        response = await api.post("/api/v1/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _logged_in(browser: Any, host: str, email: str) -> Any:
    page = browser(host)
    assert (await page.login(email, PASSWORD)).status_code in (302, 303)
    return page


async def _still_in(page: Any) -> bool:
    """Whether the page's session still opens the staff dashboard (else: the login page)."""
    response = await page.get("/")
    return (
        response.status_code == 200
        and 'id="login-error"' not in response.text
        and "/login" not in str(response.headers.get("location", ""))
    )


async def test_a_deactivated_buyer_is_out_at_once_with_session_and_token(
    app: HostDispatcher, browser: Any, twin: Twin
) -> None:
    in_globex = await _logged_in(browser, "globex.localhost", twin.email)
    in_acme = await _logged_in(browser, "acme.localhost", twin.email)
    token = await _token(app, "globex.localhost", twin.email)
    admin = browser("globex.localhost")
    await admin.login("admin@globex.test")
    try:
        response = await admin.post_form(f"/admin/users/{twin.globex_membership}/deactivate")
        assert response.status_code in (302, 303)
        assert not await _still_in(in_globex)
        name = f"Made by a deactivated buyer {secrets.token_hex(3)}"
        async with _api(app, "globex.localhost", token) as api:
            assert (await api.get("/api/v1/me")).status_code == 401
            created = await api.post("/api/v1/suppliers", json={"name": name, "country": "CN", "currency": "CNY"})
            assert created.status_code == 401
        async with _api(app, "globex.localhost", await api_token(app, "admin@globex.test", "globex.localhost")) as api:
            assert (await api.get("/api/v1/suppliers", params={"q": name})).json()["total"] == 0
        # acme's access is acme's business: untouched
        assert await _still_in(in_acme)
    finally:
        await admin.post_form(f"/admin/users/{twin.globex_membership}/reactivate")
    assert (await _logged_in(browser, "globex.localhost", twin.email)) is not None


async def test_new_roles_end_the_sessions_and_tokens_made_with_the_old_ones(
    app: HostDispatcher, browser: Any, twin: Twin
) -> None:
    page = await _logged_in(browser, "globex.localhost", twin.email)
    token = await _token(app, "globex.localhost", twin.email)
    admin = browser("globex.localhost")
    await admin.login("admin@globex.test")
    try:
        changed = await admin.post_form(f"/admin/users/{twin.globex_membership}/roles", {"roles": "viewer"})
        assert changed.status_code in (302, 303)
        assert not await _still_in(page)
        async with _api(app, "globex.localhost", token) as api:
            assert (await api.get("/api/v1/suppliers")).status_code == 401
        fresh = await _token(app, "globex.localhost", twin.email)
        async with _api(app, "globex.localhost", fresh) as api:
            me = (await api.get("/api/v1/me")).json()
            assert me["roles"] == ["viewer"]
            refused = await api.post(
                "/api/v1/suppliers", json={"name": "Viewer Ltd", "country": "CN", "currency": "CNY"}
            )
            assert refused.status_code == 403
    finally:
        await admin.post_form(f"/admin/users/{twin.globex_membership}/roles", {"roles": "buyer"})
