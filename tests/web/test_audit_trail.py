"""The audit trail through the web: logins, failed logins, role changes, deactivations and new
suppliers each leave the right event (diff, actor, request id equal to the response's
X-Request-ID); /admin/audit filters within the own tenant only; object pages show their own
history; supplier users get 404 and staff without the permission 403."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select

from backend.dev.demo import DemoData
from backend.models import AuditEvent, Identity, Membership, Supplier
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.people import give_login
from tests.web.conftest import Browser, enter_from_apex

PASSWORD = "audit-password-1"


async def _events(db: Database, tenant_id: UUID, **where: Any) -> list[AuditEvent]:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        query = select(AuditEvent).filter_by(**where).order_by(AuditEvent.occurred_at, AuditEvent.id)
        return list(await session.scalars(query))


async def _one_event(db: Database, tenant_id: UUID, request_id: str, action: str) -> AuditEvent:
    found = await _events(db, tenant_id, request_id=request_id, action=action)
    assert len(found) == 1, f"{action} events of request {request_id}: {found}"
    return found[0]


async def _admin(browser: Any, host: str = "acme.localhost") -> Browser:
    b: Browser = browser(host)
    email = "admin@" + host.split(".")[0] + ".test"
    assert (await b.login(email)).status_code in (302, 303)
    return b


async def _new_staff_user(admin: Browser, db: Database, tenant_id: UUID, roles: list[str]) -> tuple[str, UUID]:
    """A fresh staff user of this test alone (so its failures and sessions disturb nobody)."""
    email = f"audit-{secrets.token_hex(4)}@acme.test"
    response = await admin.post_form("/admin/users", {"email": email, "full_name": "Audit Person", "roles": roles})
    assert response.status_code in (302, 303), response.text[:500]
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await give_login(session, email, PASSWORD)  # as if they had followed their invitation
        membership_id = await session.scalar(
            select(Membership.id).join(Identity, Identity.id == Membership.identity_id).where(Identity.email == email)
        )
    assert membership_id is not None
    return email, membership_id


async def test_every_response_names_its_request(browser: Any) -> None:
    b = browser()
    made = (await b.get("/login")).headers["x-request-id"]
    assert len(made) == 32
    assert (await b.get("/login", headers={"x-request-id": "edge-7f3a:42"})).headers["x-request-id"] == "edge-7f3a:42"
    replaced = (await b.get("/login", headers={"x-request-id": "no spaces <allowed>"})).headers["x-request-id"]
    assert replaced != "no spaces <allowed>"
    assert len(replaced) == 32


async def test_login_and_logout_are_recorded_with_the_request_id(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    b = browser()
    response = await b.login("viewer@acme.test")
    login = await _one_event(db, acme.id, response.headers["x-request-id"], "auth.login")
    assert login.actor_kind == "staff"
    assert login.actor_name == "viewer@acme.test"
    assert login.identity_id == acme.identity("viewer")
    assert login.membership_id == acme.membership("viewer")
    assert (login.object_type, login.object_id) == ("membership", acme.membership("viewer"))
    assert login.changes == {}
    logout = await b.post_form("/logout")
    event = await _one_event(db, acme.id, logout.headers["x-request-id"], "auth.logout")
    assert event.membership_id == acme.membership("viewer")


async def test_a_login_through_the_workspace_chooser_is_recorded(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    apex = browser("localhost")
    await apex.login("supplier@acme.test")
    redeemed = await enter_from_apex(apex, browser("acme.localhost"), "acme")
    assert redeemed.status_code in (302, 303)
    event = await _one_event(db, acme.id, redeemed.headers["x-request-id"], "auth.ticket_login")
    assert (event.actor_kind, event.membership_id) == ("supplier", acme.membership("supplier"))


async def test_api_tokens_are_recorded(app: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://acme.localhost") as client:
        issued = await client.post("/api/v1/token", json={"email": "buyer@acme.test", "password": "merkato-demo"})
        refused = await client.post("/api/v1/token", json={"email": "buyer@acme.test", "password": "wrong-password"})
    assert (issued.status_code, refused.status_code) == (200, 401)
    event = await _one_event(db, acme.id, issued.headers["x-request-id"], "auth.api_token")
    assert event.membership_id == acme.membership("buyer")
    failed = await _one_event(db, acme.id, refused.headers["x-request-id"], "auth.login_failed")
    assert failed.membership_id == acme.membership("buyer")


async def test_failed_logins_keep_the_email_and_never_the_password(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    email, membership_id = await _new_staff_user(admin, db, acme.id, ["viewer"])
    wrong_password = f"Wrong-{secrets.token_hex(8)}"
    b = browser()
    member = await b.login(email, wrong_password)
    assert member.status_code == 400
    event = await _one_event(db, acme.id, member.headers["x-request-id"], "auth.login_failed")
    assert event.actor_kind == "anonymous"
    assert event.actor_name == email
    assert event.membership_id == membership_id
    assert (event.object_type, event.object_id) == ("membership", membership_id)
    assert event.identity_id is not None
    unknown_email = f"nobody-{secrets.token_hex(4)}@acme.test"
    unknown = await b.login(unknown_email.upper(), wrong_password)
    stranger = await _one_event(db, acme.id, unknown.headers["x-request-id"], "auth.login_failed")
    assert (stranger.actor_name, stranger.identity_id, stranger.membership_id) == (unknown_email, None, None)
    assert stranger.object_id is None
    for recorded in (event, stranger):
        row = {column: getattr(recorded, column) for column in AuditEvent.__table__.columns.keys()}  # noqa: SIM118
        assert wrong_password not in repr(row)


async def test_someone_of_another_workspace_is_recorded_without_identity(
    browser: Any, db: Database, demo: DemoData
) -> None:
    """admin@globex.test uses Merkato, but not acme: acme's trail must not learn who that is."""
    acme = demo.tenants["acme"]
    response = await browser().login("admin@globex.test")
    event = await _one_event(db, acme.id, response.headers["x-request-id"], "auth.login_failed")
    assert (event.identity_id, event.membership_id, event.actor_name) == (None, None, "admin@globex.test")


async def test_role_change_records_the_diff_and_the_admin(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    email, membership_id = await _new_staff_user(admin, db, acme.id, ["viewer"])
    (created,) = await _events(db, acme.id, object_id=membership_id, action="membership.created")
    assert created.changes["email"] == [None, email]
    assert created.changes["roles"] == [None, ["viewer"]]
    assert created.changes["kind"] == [None, "staff"]
    response = await admin.post_form(f"/admin/users/{membership_id}/roles", {"roles": ["viewer", "buyer"]})
    assert response.status_code in (302, 303)
    event = await _one_event(db, acme.id, response.headers["x-request-id"], "membership.roles_changed")
    assert event.changes == {"roles": [["viewer"], ["buyer", "viewer"]]}
    assert (event.object_type, event.object_id) == ("membership", membership_id)
    assert event.actor_kind == "staff"
    assert event.identity_id == acme.identity("admin")
    assert event.membership_id == acme.membership("admin")
    assert event.actor_name == "admin@acme.test"
    # saving the same roles again changes nothing and records nothing
    again = await admin.post_form(f"/admin/users/{membership_id}/roles", {"roles": ["buyer", "viewer"]})
    assert await _events(db, acme.id, request_id=again.headers["x-request-id"]) == []
    refused = await admin.post_form(f"/admin/users/{membership_id}/roles", {"roles": ["emperor"]})
    assert refused.status_code == 400
    assert "Unknown role." in refused.text


async def test_deactivation_ends_sessions_and_is_recorded(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    email, membership_id = await _new_staff_user(admin, db, acme.id, ["viewer"])
    person = browser()
    await person.login(email, PASSWORD)
    assert (await person.get("/")).status_code == 200
    response = await admin.post_form(f"/admin/users/{membership_id}/deactivate")
    assert response.status_code in (302, 303)
    event = await _one_event(db, acme.id, response.headers["x-request-id"], "membership.deactivated")
    assert event.changes == {"active": [True, False]}
    assert event.membership_id == acme.membership("admin")
    # the membership's access epoch moved: the session made before is over on its next request
    assert (await person.get("/")).headers["location"].startswith("/login")
    refused = await person.login(email, PASSWORD)
    assert refused.status_code == 400
    failed = await _one_event(db, acme.id, refused.headers["x-request-id"], "auth.login_failed")
    assert failed.membership_id == membership_id
    users_page = await admin.get("/admin/users", params={"q": email})
    assert "Reactivate" in users_page.text
    back = await admin.post_form(f"/admin/users/{membership_id}/reactivate")
    reactivated = await _one_event(db, acme.id, back.headers["x-request-id"], "membership.reactivated")
    assert reactivated.changes == {"active": [False, True]}
    assert (await person.login(email, PASSWORD)).status_code in (302, 303)


async def test_an_admin_cannot_demote_or_deactivate_themselves(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    own = acme.membership("admin")
    demoted = await admin.post_form(f"/admin/users/{own}/roles", {"roles": ["buyer"]})
    assert demoted.status_code == 400
    assert "You cannot remove your own Administrator role." in demoted.text
    assert 'role="alert"' in demoted.text
    deactivated = await admin.post_form(f"/admin/users/{own}/deactivate")
    assert deactivated.status_code == 400
    assert "You cannot deactivate yourself." in deactivated.text
    for response in (demoted, deactivated):
        assert await _events(db, acme.id, request_id=response.headers["x-request-id"]) == []
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, own))
    assert membership is not None
    assert (membership.roles, membership.active) == (["admin", "owner"], True)


async def test_other_tenants_memberships_are_404(browser: Any, demo: DemoData) -> None:
    admin = await _admin(browser)
    globex_viewer = demo.tenants["globex"].membership("viewer")
    for action in ("roles", "deactivate", "reactivate"):
        response = await admin.post_form(f"/admin/users/{globex_viewer}/{action}", {"roles": ["viewer"]})
        assert response.status_code == 404, action
    supplier_user = demo.tenants["acme"].membership("supplier")  # not staff: not on this page either
    assert (await admin.post_form(f"/admin/users/{supplier_user}/deactivate")).status_code == 404


async def _create_supplier(admin: Browser, db: Database, tenant_id: UUID, name: str) -> tuple[UUID, str]:
    response = await admin.post_form("/suppliers/", {"name": name, "country": "cn", "currency": "cny"})
    assert response.status_code in (302, 303), response.text[:500]
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        supplier_id = await session.scalar(select(Supplier.id).where(Supplier.name == name))
    assert supplier_id is not None
    return supplier_id, response.headers["x-request-id"]


async def test_supplier_creation_is_recorded_and_shown_in_its_own_history(
    browser: Any, db: Database, demo: DemoData
) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    first_id, first_request = await _create_supplier(admin, db, acme.id, f"Audit Castings {secrets.token_hex(3)}")
    second_id, second_request = await _create_supplier(admin, db, acme.id, f"Audit Forge {secrets.token_hex(3)}")
    event = await _one_event(db, acme.id, first_request, "supplier.created")
    assert (event.object_type, event.object_id) == ("supplier", first_id)
    assert event.changes["country"] == [None, "CN"]
    assert event.changes["currency"] == [None, "CNY"]
    assert event.changes["status"] == [None, "active"]
    assert event.changes["number"][1].startswith("SUP-")
    assert "tax_id" not in event.changes  # empty: nothing to show
    assert event.actor_name == "admin@acme.test"
    page = await admin.get(f"/suppliers/{first_id}")
    assert 'id="history"' in page.text
    history = page.text.split('id="history"')[1]
    assert "Supplier created" in history
    assert first_request in history
    assert second_request not in history
    viewer = browser()
    await viewer.login("viewer@acme.test")
    seen_by_viewer = await viewer.get(f"/suppliers/{second_id}")
    assert seen_by_viewer.status_code == 200
    assert 'id="history"' not in seen_by_viewer.text


async def test_the_audit_page_lists_filters_and_stays_in_its_tenant(browser: Any, db: Database, demo: DemoData) -> None:
    acme_admin = await _admin(browser)
    globex_admin = browser("globex.localhost")
    globex_request = (await globex_admin.login("admin@globex.test")).headers["x-request-id"]
    own_request = (await browser().login("buyer@acme.test")).headers["x-request-id"]

    everything = await acme_admin.get("/admin/audit")
    assert everything.status_code == 200
    assert own_request in everything.text
    assert globex_request not in everything.text
    assert "Logged in" in everything.text

    by_actor = await acme_admin.get("/admin/audit", params={"actor": "admin@globex"})
    assert globex_request not in by_actor.text  # (acme may hold failed attempts with that e-mail, never globex's rows)
    by_action = await acme_admin.get("/admin/audit", params={"action": "auth.login", "actor": "buyer@acme"})
    assert own_request in by_action.text
    assert globex_request not in by_action.text
    async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
        buyer = await session.get(Identity, demo.tenants["acme"].identity("buyer"))
    assert buyer is not None
    by_name = await acme_admin.get("/admin/audit", params={"actor": buyer.full_name.split()[0].lower()})
    assert own_request in by_name.text
    suppliers_only = await acme_admin.get("/admin/audit", params={"object_type": "supplier"})
    assert own_request not in suppliers_only.text
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    future = await acme_admin.get("/admin/audit", params={"date_from": tomorrow})
    assert "0 events" in future.text
    today = await acme_admin.get(
        "/admin/audit",
        params={"date_from": (date.today() - timedelta(days=1)).isoformat(), "date_to": tomorrow, "actor": "buyer@"},
    )
    assert own_request in today.text
    bad = await acme_admin.get("/admin/audit", params={"date_from": "yesterday"})
    assert bad.status_code == 400
    assert 'id="e-date_from"' in bad.text
    backwards = await acme_admin.get("/admin/audit", params={"date_from": tomorrow, "date_to": "2020-01-01"})
    assert 'id="e-date_to"' in backwards.text

    globex_page = await globex_admin.get("/admin/audit")
    assert globex_request in globex_page.text
    assert own_request not in globex_page.text


async def test_supplier_users_get_404_and_viewers_403(browser: Any) -> None:
    supplier = browser()
    await supplier.login("supplier@acme.test")
    assert (await supplier.get("/admin/audit")).status_code == 404
    viewer = browser()
    await viewer.login("viewer@acme.test")
    assert (await viewer.get("/admin/audit")).status_code == 403
    staff_nav = await viewer.get("/")
    assert 'href="/admin/audit"' not in staff_nav.text
    admin = await _admin(browser)
    assert 'href="/admin/audit"' in (await admin.get("/")).text
