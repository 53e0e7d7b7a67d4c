"""Logging in and out: sessions rotate, cookies are host-only, CSRF guards every form, one answer
for known and unknown e-mails, tickets are single use and bound to the browser that asked.
Throttling is in test_throttling.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.auth.tokens import digest
from backend.dev.demo import DEMO_PASSWORD
from backend.models import WebSession
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.web.conftest import enter_from_apex


async def test_staff_login_lands_in_staff_app_with_host_only_cookie(browser: Any) -> None:
    b = browser("acme.localhost")
    response = await b.login("admin@acme.test")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/"
    set_cookie = response.headers["set-cookie"]
    assert "merkato_session=" in set_cookie
    assert "httponly" in set_cookie.lower()
    assert "domain=" not in set_cookie.lower()  # host-only: never shared with other workspaces
    home = await b.get("/")
    assert home.status_code == 200
    assert "Dashboard" in home.text


@pytest.mark.parametrize(
    ("email", "home", "marker"),
    [("supplier@acme.test", "/supplier", "Supplier portal"), ("customer@acme.test", "/customer", "Customer portal")],
)
async def test_portal_users_land_in_their_portal(browser: Any, email: str, home: str, marker: str) -> None:
    b = browser()
    response = await b.login(email)
    assert response.headers["location"] == home
    page = await b.get(home)
    assert page.status_code == 200
    assert marker in page.text


async def test_session_id_rotates_at_login_and_old_session_dies(browser: Any, db: Database, demo: Any) -> None:
    b = browser()
    await b.login("buyer@acme.test")
    first = b.client.cookies.get("merkato_session")
    await b.login("buyer@acme.test")
    second = b.client.cookies.get("merkato_session")
    assert first
    assert second
    assert first != second
    other = browser()
    other.client.cookies.set("merkato_session", first)
    assert (await other.get("/")).status_code == 302  # the replaced session no longer works
    acme = demo.tenants["acme"].id
    async with db.transaction(TenantContext.system(acme)) as session:
        hashes = set(await session.scalars(select(WebSession.token_hash)))
    assert digest(second) in hashes
    assert digest(first) not in hashes  # the row itself is gone, not just unusable


async def test_logout_ends_the_session(browser: Any) -> None:
    b = browser()
    await b.login("viewer@acme.test")
    token = b.client.cookies.get("merkato_session")
    response = await b.post_form("/logout")
    assert response.headers["location"] == "/login"
    replay = browser()
    replay.client.cookies.set("merkato_session", token)
    assert (await replay.get("/")).status_code == 302


async def test_form_without_csrf_token_is_refused_and_changes_nothing(browser: Any, db: Database, demo: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    response = await b.post_form("/suppliers/", {"name": "No CSRF Ltd", "country": "DE", "currency": "EUR"}, csrf=False)
    assert response.status_code == 403
    wrong = await b.client.post(
        "/suppliers/",
        data={"name": "No CSRF Ltd", "country": "DE", "currency": "EUR", "_csrf_token": "forged"},
    )
    assert wrong.status_code == 403
    listing = await b.get("/suppliers", params={"q": "No CSRF"})
    assert "No CSRF Ltd" not in listing.text


async def test_login_form_itself_needs_csrf(browser: Any) -> None:
    b = browser()
    response = await b.post_form("/login", {"email": "admin@acme.test", "password": DEMO_PASSWORD}, csrf=False)
    assert response.status_code == 403
    assert b.client.cookies.get("merkato_session") is None


async def test_wrong_password_unknown_email_and_foreign_member_get_the_same_answer(browser: Any) -> None:
    b = browser()
    wrong = await b.login("admin@acme.test", "not-the-password")
    unknown = await b.login("nobody-at-all@acme.test", "not-the-password")
    foreign = await b.login("admin@globex.test")  # right password, but not a member of acme
    assert wrong.status_code == unknown.status_code == foreign.status_code == 400
    messages = {r.text.split('id="login-error"')[1].split("</p>")[0] for r in (wrong, unknown, foreign)}
    assert len(messages) == 1
    assert b.client.cookies.get("merkato_session") is None


async def test_apex_login_chooser_and_one_time_ticket(browser: Any) -> None:
    apex = browser("localhost")
    response = await apex.login("supplier@acme.test")
    assert response.headers["location"] == "/workspaces"
    chooser = await apex.get("/workspaces")
    assert chooser.status_code == 200
    assert "Acme Manufacturing" in chooser.text
    assert "Globex" not in chooser.text  # supplier@acme.test has no globex membership
    assert 'href="http://acme.localhost/auth/enter"' in chooser.text
    tenant = browser("acme.localhost")
    redeemed = await enter_from_apex(apex, tenant, "acme")
    assert redeemed.headers["location"] == "/supplier"
    assert (await tenant.get("/supplier")).status_code == 200


async def _ticket_path(apex: Any, tenant: Any) -> str:
    """Ask for a ticket the way the chooser does, stopping before it is redeemed."""
    enter = await tenant.get("/auth/enter")
    ticket = await apex.get(enter.headers["location"].removeprefix("http://localhost"))
    location: str = ticket.headers["location"]
    assert location.startswith(f"http://{tenant.host}/auth/ticket?token=")
    return location.removeprefix(f"http://{tenant.host}")


async def test_a_ticket_is_single_use(browser: Any) -> None:
    apex, tenant = browser("localhost"), browser("acme.localhost")
    await apex.login("supplier@acme.test")
    path = await _ticket_path(apex, tenant)
    assert (await tenant.get(path)).headers["location"] == "/supplier"
    assert (await tenant.get(path)).status_code == 400


async def test_a_ticket_works_only_in_the_browser_that_asked_for_it(browser: Any) -> None:
    """Login CSRF: an attacker takes a ticket for their own login and makes the victim's browser
    open it; the victim's browser lacks the binding cookie, so nobody is logged in."""
    attacker_apex, attacker_tenant = browser("localhost"), browser("acme.localhost")
    await attacker_apex.login("supplier2@acme.test")
    path = await _ticket_path(attacker_apex, attacker_tenant)
    victim = browser("acme.localhost")
    pushed = await victim.get(path)
    assert pushed.status_code == 400
    assert victim.client.cookies.get("merkato_session") is None
    # and the ticket is spent: the attacker cannot use it either any more
    assert (await attacker_tenant.get(path)).status_code == 400


async def test_ticket_is_bound_to_its_workspace(browser: Any) -> None:
    apex, tenant = browser("localhost"), browser("acme.localhost")
    await apex.login("admin@acme.test")
    path = await _ticket_path(apex, tenant)
    other = browser("globex.localhost")
    assert (await other.get(path)).status_code == 400


async def test_apex_cannot_enter_a_workspace_without_membership(browser: Any) -> None:
    apex = browser("localhost")
    await apex.login("supplier@acme.test")
    binding = "ab" * 32
    assert (await apex.get(f"/workspaces/globex/ticket?binding={binding}")).status_code == 404
    assert (await apex.get(f"/workspaces/no-such-company/ticket?binding={binding}")).status_code == 404
    assert (await apex.get("/workspaces/acme/ticket?binding=not-hex")).status_code == 404


async def test_next_parameter_cannot_redirect_off_site(browser: Any) -> None:
    b = browser()
    response = await b.post_form(
        "/login", {"email": "admin@acme.test", "password": DEMO_PASSWORD, "next": "//evil.example/steal"}
    )
    assert response.headers["location"] == "/"
