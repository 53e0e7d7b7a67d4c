"""The audit helper and the trail's walls: diffs keep only changed fields in JSON-safe form, the
actor comes from the transaction's context, the app role can append and read but never rewrite,
supplier and customer contexts read nothing, and staff administration refuses to leave a
workspace without anyone in charge."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.accounts.service import RolesForm, change_roles, set_active, staff_membership
from backend.audit.service import Actor, diff, json_safe, record, snapshot
from backend.auth.service import LoginRefused, authenticate_member
from backend.auth.throttle import ADDRESS_FREE
from backend.dev.demo import DemoData
from backend.kit.forms import InvalidForm
from backend.kit.ids import new_id
from backend.models import AuditEvent
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database
from tests.fixtures.transactions import rolled_back

INSUFFICIENT_PRIVILEGE = "42501"


class Colour(enum.Enum):
    RED = "red"


def test_diff_keeps_only_changed_fields_as_json_safe_values() -> None:
    some_id = UUID("01900000-0000-7000-8000-000000000001")
    before = {"name": "Old", "price": Decimal("1.50"), "roles": ["buyer"], "same": 3, "owner": None}
    after = {
        "name": "New",
        "price": Decimal("1.5"),  # the same amount written differently: not a change
        "roles": ["buyer", "viewer"],
        "same": 3,
        "owner": some_id,
        "due": date(2026, 3, 1),
        "colour": Colour.RED,
    }
    assert diff(before, after) == {
        "colour": [None, "red"],
        "due": [None, "2026-03-01"],
        "name": ["Old", "New"],
        "owner": [None, str(some_id)],
        "roles": [["buyer"], ["buyer", "viewer"]],
    }
    # missing, None, "" and [] all read as "no value": nothing to show
    assert diff({"a": None, "b": "", "c": None}, {"b": None, "c": []}) == {}
    assert diff({"flag": None}, {"flag": False}) == {"flag": [None, False]}


def test_json_safe_writes_ids_amounts_times_and_sets_as_text() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json_safe({"at": moment, "n": Decimal("2.00"), "tags": {"b", "a"}, "ok": True, "t": (1, 2)}) == {
        "at": "2026-01-02T03:04:05+00:00",
        "n": "2.00",
        "tags": ["a", "b"],
        "ok": True,
        "t": [1, 2],
    }


def test_snapshot_reads_the_named_fields() -> None:
    class Thing:
        name = "x"
        status = "open"

    assert snapshot(Thing(), "name", "status") == {"name": "x", "status": "open"}


async def _events(db: Database, tenant_id: UUID, **where: Any) -> list[AuditEvent]:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        query = select(AuditEvent).filter_by(**where).order_by(AuditEvent.occurred_at, AuditEvent.id)
        return list(await session.scalars(query))


async def test_actor_comes_from_the_context(db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    object_id = new_id()
    staff_context = TenantContext(
        tenant_id=acme.id,
        party_kind=PartyKind.STAFF,
        identity_id=acme.identity("buyer"),
        membership_id=acme.membership("buyer"),
    )
    async with db.transaction(staff_context) as session:
        await record(session, "test.touched", "thing", object_id, before={"n": 1}, after={"n": 2})
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await record(session, "test.touched", "thing", object_id)
    staff_event, system_event = await _events(db, acme.id, object_id=object_id)
    assert staff_event.actor_kind == "staff"
    assert staff_event.identity_id == acme.identity("buyer")
    assert staff_event.membership_id == acme.membership("buyer")
    assert staff_event.actor_name == "buyer@acme.test"
    assert staff_event.changes == {"n": [1, 2]}
    assert staff_event.request_id is None  # outside a request
    assert system_event.actor_kind == "system"
    assert system_event.identity_id is None
    assert system_event.actor_name is None
    assert system_event.changes == {}


async def test_an_explicit_actor_wins_over_the_context(db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    object_id = new_id()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await record(session, "test.login", "thing", object_id, actor=Actor(kind="anonymous", email="x@example.test"))
    (event,) = await _events(db, acme.id, object_id=object_id)
    assert (event.actor_kind, event.actor_name, event.identity_id) == ("anonymous", "x@example.test", None)


async def _sqlstate(db: Database, context: TenantContext, sql: str, **params: Any) -> str | None:
    try:
        async with rolled_back(db, context) as session:
            await session.execute(text(sql), params)
    except DBAPIError as error:
        state: str | None = getattr(error.orig, "sqlstate", None)
        return state
    return None


async def test_the_app_role_cannot_update_or_delete_the_trail(db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    object_id = new_id()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await record(session, "test.kept", "thing", object_id, after={"n": 1})
    context = TenantContext.system(acme.id)
    update = "UPDATE audit_events SET action = 'test.rewritten' WHERE object_id = :id"
    assert await _sqlstate(db, context, update, id=object_id) == INSUFFICIENT_PRIVILEGE
    assert await _sqlstate(db, context, "DELETE FROM audit_events WHERE object_id = :id", id=object_id) == (
        INSUFFICIENT_PRIVILEGE
    )
    assert await _sqlstate(db, context, "TRUNCATE audit_events") == INSUFFICIENT_PRIVILEGE
    (event,) = await _events(db, acme.id, object_id=object_id)
    assert event.action == "test.kept"


async def test_party_users_and_other_tenants_read_nothing(db: Database, demo: DemoData) -> None:
    acme, globex = demo.tenants["acme"], demo.tenants["globex"]
    object_id = new_id()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await record(session, "test.secret", "thing", object_id)
    supplier = TenantContext(tenant_id=acme.id, party_kind=PartyKind.SUPPLIER, party_id=acme.supplier_ids[0])
    for context in (supplier, TenantContext.system(globex.id)):
        async with db.transaction(context) as session:
            count = await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.object_id == object_id)
            )
        assert count == 0, context


def _as(demo: DemoData, local: str) -> TenantContext:
    acme = demo.tenants["acme"]
    return TenantContext(
        tenant_id=acme.id,
        party_kind=PartyKind.STAFF,
        identity_id=acme.identity(local),
        membership_id=acme.membership(local),
    )


async def test_the_last_administrator_can_be_neither_demoted_nor_deactivated(db: Database, demo: DemoData) -> None:
    """admin@acme is acme's only owner (and only admin); trusted code (a system context) is refused too."""
    acme = demo.tenants["acme"]
    async with rolled_back(db, TenantContext.system(acme.id)) as session:
        admin = await staff_membership(session, acme.membership("admin"))
        assert admin is not None
        with pytest.raises(InvalidForm) as demoted:
            await change_roles(session, admin, RolesForm(roles=["viewer"]))
        assert "at least one active owner" in demoted.value.errors["roles"]
        with pytest.raises(InvalidForm) as deactivated:
            await set_active(session, admin, active=False)
        assert "at least one active owner" in deactivated.value.errors["membership"]


async def test_the_last_owner_stays_an_owner(db: Database, demo: DemoData) -> None:
    """With buyer@ made the only owner, the admin may not take that role away or deactivate them."""
    acme = demo.tenants["acme"]
    async with rolled_back(db, _as(demo, "admin")) as session:
        buyer = await staff_membership(session, acme.membership("buyer"))
        assert buyer is not None
        buyer.roles = ["owner"]
        admin = await staff_membership(session, acme.membership("admin"))
        assert admin is not None
        admin.roles = ["admin"]  # the demo's admin is an owner too
        await session.flush()
        with pytest.raises(InvalidForm) as demoted:
            await change_roles(session, buyer, RolesForm(roles=["buyer"]))
        assert "at least one active owner." in demoted.value.errors["roles"]
        with pytest.raises(InvalidForm):
            await set_active(session, buyer, active=False)


async def test_nobody_removes_their_own_admin_role_or_deactivates_themselves(db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    async with rolled_back(db, _as(demo, "admin")) as session:
        admin = await staff_membership(session, acme.membership("admin"))
        assert admin is not None
        with pytest.raises(InvalidForm) as demoted:
            await change_roles(session, admin, RolesForm(roles=["buyer"]))
        assert "your own" in demoted.value.errors["roles"]
        with pytest.raises(InvalidForm) as deactivated:
            await set_active(session, admin, active=False)
        assert "yourself" in deactivated.value.errors["membership"]
        # adding a role to oneself is fine
        await change_roles(session, admin, RolesForm(roles=["admin", "buyer", "owner"]))
        assert admin.roles == ["admin", "buyer", "owner"]


async def test_a_throttled_login_is_recorded(db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    email = f"throttled-{new_id().hex[:8]}@acme.test"
    client = f"10.77.{new_id().int % 250}.{new_id().int % 250}"
    async with rolled_back(db, TenantContext.system(acme.id)) as session:
        # an e-mail that names nobody counts against the address only: past its allowance, it waits
        for _ in range(ADDRESS_FREE):
            with pytest.raises(LoginRefused):
                await authenticate_member(session, acme.id, email, "whatever-it-is", client=client, max_failures=100)
        with pytest.raises(LoginRefused) as refused:
            await authenticate_member(session, acme.id, email, "whatever-it-is", client=client, max_failures=100)
        assert refused.value.throttled
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.actor_name == email)))
    assert sorted((event.action, event.actor_kind, event.identity_id) for event in events) == [
        ("auth.login_failed", "anonymous", None)
    ] * ADDRESS_FREE + [("auth.login_throttled", "anonymous", None)]
