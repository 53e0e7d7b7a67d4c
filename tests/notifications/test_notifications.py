"""In-app notifications: written in the recipient's language with their party on the row, listed
and counted under each member's own bell, marked read only by their owner; another member's,
another party's or another tenant's notification is 404 and absent from every list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from backend.kit.i18n import current_locale
from backend.models import Notification
from backend.notifications.service import notify
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database


async def _notify(db: Database, tenant_id: UUID, membership_id: UUID, title: Any, link: str | None = None) -> UUID:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        notification = await notify(session, membership_id, title, "Details follow.", link)
        return notification.id


async def _read_all(b: Any) -> None:
    assert (await b.post_form("/notifications/read-all")).status_code == 303


async def test_notify_writes_in_the_recipients_language_with_their_party(db: Database, demo: Any) -> None:
    acme, globex = demo.tenants["acme"], demo.tenants["globex"]
    supplier_user = acme.membership("supplier")
    # a callable title runs in the recipient's language: here it just says which one that is
    first = await _notify(db, acme.id, supplier_user, current_locale)
    second = await _notify(db, globex.id, globex.membership("admin"), current_locale)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        row = await session.get(Notification, (acme.id, first))
        assert row is not None
        assert (row.title, row.supplier_id, row.customer_id) == ("en", acme.supplier_ids[0], None)
    async with db.transaction(TenantContext.system(globex.id)) as session:
        row = await session.get(Notification, (globex.id, second))
        assert row is not None
        assert (row.title, row.supplier_id, row.customer_id) == ("zh_Hans", None, None)
    assert current_locale() == "en"  # the caller's language is back


async def test_notify_accepts_only_links_on_this_host(db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    for link in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="paths on this host"):
            await _notify(db, acme.id, acme.membership("buyer"), "x", link)


async def test_the_party_wall_covers_notifications(db: Database, demo: Any) -> None:
    """Even a query without the membership filter sees only the own party's rows."""
    acme = demo.tenants["acme"]
    other = await _notify(db, acme.id, acme.membership("supplier2"), "For supplier B")
    context = TenantContext(tenant_id=acme.id, party_kind=PartyKind.SUPPLIER, party_id=acme.supplier_ids[0])
    async with db.transaction(context) as session:
        seen = set(await session.scalars(select(Notification.id)))
    assert other not in seen


async def test_bell_lists_counts_and_marks_read_for_its_owner_only(db: Database, demo: Any, browser: Any) -> None:
    acme = demo.tenants["acme"]
    owner = browser()
    await owner.login("supplier2@acme.test")
    await _read_all(owner)
    assert 'id="bell-count"' not in (await owner.get("/notifications/bell")).text

    plain = await _notify(db, acme.id, acme.membership("supplier2"), "Your bid was received")
    linked = await _notify(db, acme.id, acme.membership("supplier2"), "RFQ closes tomorrow", "/supplier")
    bell = await owner.get("/notifications/bell")
    assert bell.status_code == 200
    assert '<span class="bell-count" id="bell-count">2</span>' in bell.text
    page = await owner.get("/notifications")
    assert "Your bid was received" in page.text
    assert "RFQ closes tomorrow" in page.text
    assert 'id="bell"' in page.text  # the header's bell, on every page of a member

    # another supplier's user, a staff admin (who sees every party's rows), another tenant's admin
    for email, host in (
        ("supplier@acme.test", "acme.localhost"),
        ("admin@acme.test", "acme.localhost"),
        ("admin@globex.test", "globex.localhost"),
    ):
        stranger = browser(host)
        await stranger.login(email)
        assert "Your bid was received" not in (await stranger.get("/notifications")).text
        assert (await stranger.post_form(f"/notifications/{plain}/read")).status_code == 404
        await _read_all(stranger)
    assert '<span class="bell-count" id="bell-count">2</span>' in (await owner.get("/notifications/bell")).text

    opened = await owner.post_form(f"/notifications/{linked}/read", {"open": "1"})
    assert opened.status_code == 303
    assert opened.headers["location"] == "/supplier"
    assert '<span class="bell-count" id="bell-count">1</span>' in (await owner.get("/notifications/bell")).text
    marked = await owner.post_form(f"/notifications/{plain}/read")
    assert marked.headers["location"] == "/notifications"
    assert 'id="bell-count"' not in (await owner.get("/notifications/bell")).text
    assert (await owner.post_form("/notifications/not-a-uuid/read")).status_code == 404


async def test_read_all_marks_only_the_callers_own(db: Database, demo: Any, browser: Any) -> None:
    acme = demo.tenants["acme"]
    mine = await _notify(db, acme.id, acme.membership("customer"), "Order confirmed")
    theirs = await _notify(db, acme.id, acme.membership("customer2"), "Ticket answered")
    b = browser()
    await b.login("customer@acme.test")
    await _read_all(b)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        read = {n.id: n.read_at for n in await session.scalars(select(Notification))}
    assert read[mine] is not None
    assert read[theirs] is None


async def test_no_bell_for_visitors(browser: Any) -> None:
    assert 'id="bell"' not in (await browser().get("/login")).text
    assert 'id="bell"' not in (await browser("localhost").get("/login")).text
