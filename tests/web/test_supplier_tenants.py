"""One person, one Merkato login, supplying two buyers: an active supplier user of supplier
"Alpha" in acme and of supplier "Bravo" in globex. Each workspace's host shows that workspace's
supplier only (name, company contact details, colleagues, documents, change requests); the
session of one host is nobody on the other; the ids of one tenant's objects are 404 on the other
host; and what the person changes on one host leaves the other tenant's supplier as it was."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
import weasyprint
from sqlalchemy import func, select

from backend.accounts.service import PersonForm, add_person
from backend.dev.demo import DemoData
from backend.models import (
    Membership,
    MembershipKind,
    Supplier,
    SupplierChangeRequest,
    SupplierDocument,
)
from backend.parties.service import PartyForm, create_supplier
from backend.settings import Settings, get_settings
from backend.suppliers.qualification import create_category, require_document, supply_category
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.documents.pdfs import pdf_text
from tests.fixtures.jobs import drain
from tests.fixtures.people import give_login
from tests.web.conftest import Browser, enter_from_apex

CODE = secrets.token_hex(3)
EMAIL = f"mei.lin-{CODE}@two-buyers.test"
PASSWORD = "one-password-for-both-workspaces"
ACME, GLOBEX = "acme.localhost", "globex.localhost"
SUMMARY_URL = re.compile(r"^/documents/([0-9a-f-]{36})$")


@dataclass(frozen=True, slots=True)
class Side:
    """One tenant's supplier of the shared person, and what is known to be on its page."""

    host: str
    tenant_id: UUID
    supplier_id: UUID
    membership_id: UUID
    identity_id: UUID
    name: str
    document_type: str
    document_name: str
    street: str
    phone: str
    email: str
    colleague: str
    colleague_email: str

    @property
    def markers(self) -> tuple[str, ...]:
        """What this side's company page shows of its data, and the other side's pages must not."""
        return (
            self.name,
            self.document_name,
            self.document_type,
            self.street,
            self.phone,
            self.email,
            self.colleague,
            self.colleague_email,
        )


@dataclass(frozen=True, slots=True)
class World:
    acme: Side
    globex: Side


def _pdf(text: str) -> bytes:
    return weasyprint.HTML(string=f"<p>{text}</p>").write_pdf()  # type: ignore[no-any-return]


async def _seed(db: Database, tenant_id: UUID, *, name: str, country: str, currency: str, doc: tuple[str, str]) -> Any:
    """The supplier, a category it supplies that requires one document, and the person's membership."""
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        supplier = await create_supplier(session, PartyForm(name=name, country=country, currency=currency))
        category = await create_category(session, f"T{CODE}".upper(), f"Two-buyer category {CODE}")
        await require_document(session, category, doc[0], doc[1], expires=False)
        await supply_category(session, supplier.id, category.id, today=date.today())
        # the person chose a password through the link to their mailbox (the operator's shortcut
        # here): a second workspace that adds them tells them of the access, no invitation needed
        await give_login(session, EMAIL, PASSWORD, "Mei Lin")
        membership = await add_person(
            session,
            PersonForm(email=EMAIL, full_name="Mei Lin"),
            kind=MembershipKind.SUPPLIER,
            supplier_id=supplier.id,
        )
        return supplier.id, membership.id, membership.identity_id


async def _upload(page: Browser, document_type: str, text: str) -> httpx.Response:
    return await page.client.post(
        "/supplier/company/documents",
        data={"document_type": document_type, "_csrf_token": await page.csrf_token()},
        files={"file": (f"{document_type}.pdf", io.BytesIO(_pdf(text)), "application/pdf")},
    )


async def _logged_in(browser: Any, host: str) -> Browser:
    page: Browser = browser(host)
    response = await page.login(EMAIL, PASSWORD)
    assert response.status_code == 302, response.text[:300]
    assert response.headers["location"] == "/supplier"
    return page


@pytest.fixture(scope="module")
async def world(app: HostDispatcher, db: Database, demo: DemoData) -> World:
    """Both suppliers, the one identity with a membership in each, and each supplier's data put
    in through its own host's portal: company details, a document, a colleague (and, on acme
    only, a change request)."""
    alpha_name, bravo_name = f"Alpha Widgets {CODE} GmbH", f"Bravo Optics {CODE} Inc."
    alpha_doc = (f"alpha_iso_{CODE}", f"Alpha ISO 9001 certificate {CODE}")
    bravo_doc = (f"bravo_licence_{CODE}", f"Bravo export licence {CODE}")
    s1, m1, i1 = await _seed(db, demo.acme.id, name=alpha_name, country="DE", currency="EUR", doc=alpha_doc)
    s2, m2, i2 = await _seed(db, demo.globex.id, name=bravo_name, country="US", currency="USD", doc=bravo_doc)
    assert i1 == i2, "one e-mail, one identity: the second workspace adds a membership, not a login"
    acme = Side(
        host=ACME,
        tenant_id=demo.acme.id,
        supplier_id=s1,
        membership_id=m1,
        identity_id=i1,
        name=alpha_name,
        document_type=alpha_doc[0],
        document_name=alpha_doc[1],
        street=f"Alphastraße {CODE}",
        phone="+49 30 5550 1001",
        email=f"orders-{CODE}@alpha-widgets.test",
        colleague=f"Alpha Colleague {CODE}",
        colleague_email=f"alpha-colleague-{CODE}@example.test",
    )
    globex = Side(
        host=GLOBEX,
        tenant_id=demo.globex.id,
        supplier_id=s2,
        membership_id=m2,
        identity_id=i2,
        name=bravo_name,
        document_type=bravo_doc[0],
        document_name=bravo_doc[1],
        street=f"Bravo Avenue {CODE}",
        phone="+1 415 555 0202",
        email=f"orders-{CODE}@bravo-optics.test",
        colleague=f"Bravo Colleague {CODE}",
        colleague_email=f"bravo-colleague-{CODE}@example.test",
    )
    for side in (acme, globex):
        page = Browser(app, side.host)
        try:
            assert (await page.login(EMAIL, PASSWORD)).headers["location"] == "/supplier"
            profile = {"street": side.street, "city": "Somewhere", "phone": side.phone, "email": side.email}
            assert (await page.post_form("/supplier/company", profile)).status_code == 302
            uploaded = await _upload(page, side.document_type, side.name)
            assert uploaded.status_code == 302, uploaded.text[:500]
            colleague = {"email": side.colleague_email, "full_name": side.colleague, "role": "sales"}
            invited = await page.post_form("/supplier/company/colleagues", colleague)
            assert invited.status_code == 302, invited.text[:500]
            if side is acme:
                change = {"kind": "legal_name", "value": f"Alpha Widgets {CODE} AG"}
                assert (await page.post_form("/supplier/company/changes", change)).status_code == 302
        finally:
            await page.aclose()
    return World(acme=acme, globex=globex)


@pytest.fixture
def worker_data_dir(app: HostDispatcher, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The render job's settings pointed at the web app's data directory (as on a deployment,
    where workers and web servers share MERKATO_DATA_DIR), so that a rendered PDF can be downloaded."""
    web: Settings = app.apps_with_lifespan[1].state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("MERKATO_DATA_DIR", str(web.data_dir))
    get_settings.cache_clear()
    yield web
    monkeypatch.undo()
    get_settings.cache_clear()


def _shows_only(page: str, mine: Side, theirs: Side) -> None:
    for marker in mine.markers:
        assert marker in page, marker
    for marker in theirs.markers:
        assert marker not in page, marker
    assert theirs.name.split()[0] not in page  # not even "Alpha" on globex or "Bravo" on acme


async def test_one_identity_two_memberships(db: Database, world: World) -> None:
    for side in (world.acme, world.globex):
        async with db.transaction(TenantContext.system(side.tenant_id)) as session:
            query = select(Membership).where(Membership.identity_id == side.identity_id)
            memberships = list(await session.scalars(query))
        assert [(m.id, m.kind, m.supplier_id, m.active) for m in memberships] == [
            (side.membership_id, MembershipKind.SUPPLIER, side.supplier_id, True)
        ]


async def test_each_host_shows_only_its_own_supplier(browser: Any, world: World) -> None:
    acme, globex = world.acme, world.globex
    on_acme = await _logged_in(browser, ACME)
    on_globex = await _logged_in(browser, GLOBEX)

    page = await on_acme.get("/supplier/company")
    assert page.status_code == 200
    _shows_only(page.text, acme, globex)
    assert f"<h1>{acme.name}</h1>" in page.text
    assert f'data-document="{acme.document_type}" data-state="in_review"' in page.text
    assert 'id="change-requests"' in page.text
    assert "legal_name" in page.text

    page = await on_globex.get("/supplier/company")
    assert page.status_code == 200
    _shows_only(page.text, globex, acme)
    assert f"<h1>{globex.name}</h1>" in page.text
    assert f'data-document="{globex.document_type}" data-state="in_review"' in page.text
    assert 'id="change-requests"' not in page.text  # acme's change request stays on acme

    # the portal home, too
    home = await on_acme.get("/supplier")
    assert acme.name in home.text
    assert globex.name not in home.text
    home = await on_globex.get("/supplier")
    assert globex.name in home.text
    assert acme.name not in home.text


async def test_the_apex_chooser_lists_both_and_each_ticket_opens_its_own_host(browser: Any, world: World) -> None:
    apex = browser("localhost")
    assert (await apex.login(EMAIL, PASSWORD)).headers["location"] == "/workspaces"
    chooser = await apex.get("/workspaces")
    assert chooser.status_code == 200
    assert "Acme Manufacturing" in chooser.text
    assert "Globex Trading" in chooser.text
    for side, other in ((world.acme, world.globex), (world.globex, world.acme)):
        slug = side.host.split(".")[0]
        assert f'href="http://{side.host}/auth/enter"' in chooser.text
        page = browser(side.host)
        redeemed = await enter_from_apex(apex, page, slug)
        assert redeemed.headers["location"] == "/supplier"
        shown = await page.get("/supplier/company")
        assert shown.status_code == 200
        _shows_only(shown.text, side, other)


async def test_a_session_authenticates_only_on_the_host_that_issued_it(
    app: HostDispatcher, browser: Any, db: Database, world: World
) -> None:
    acme, globex = world.acme, world.globex
    on_acme = await _logged_in(browser, ACME)
    login = await browser(ACME).login(EMAIL, PASSWORD)
    assert "domain=" not in login.headers["set-cookie"].lower()  # host-only: the browser keeps it to acme
    token = on_acme.client.cookies.get("merkato_session")
    assert token

    # even presented on purpose, acme's session is nobody on globex
    stolen = browser(GLOBEX)
    stolen.client.cookies.set("merkato_session", token)
    for path, back in (("/supplier/company", "%2Fsupplier%2Fcompany"), ("/supplier", "%2Fsupplier")):
        response = await stolen.get(path)
        assert response.status_code == 302, (path, response.status_code)
        assert response.headers["location"] == f"/login?next={back}"  # anonymous there: log in first
    assert (await stolen.get("/login")).status_code == 200  # the login form, not a redirect to a portal
    write = await stolen.post_form("/supplier/company", {"street": "Stolen 1", "city": "X", "phone": "+1 0"})
    assert write.status_code == 302
    assert write.headers["location"] == "/login?next=%2Fsupplier%2Fcompany"
    async with db.transaction(TenantContext.system(globex.tenant_id)) as session:
        supplier = await session.get(Supplier, (globex.tenant_id, globex.supplier_id))
        assert supplier is not None
        assert (supplier.street, supplier.phone) == (globex.street, globex.phone)

    # the same cookie still works on acme: it was refused for the host, not spent
    assert (await on_acme.get("/supplier/company")).status_code == 200

    # logging in on globex is a separate login with its own, different session
    on_globex = await _logged_in(browser, GLOBEX)
    assert on_globex.client.cookies.get("merkato_session") not in (None, token)

    # API tokens are bound to their tenant the same way
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{ACME}") as api:
        issued = await api.post("/api/v1/token", json={"email": EMAIL, "password": PASSWORD})
        assert issued.status_code == 200, issued.text
        acme_token = issued.json()["access_token"]
        assert (await api.get(f"/api/v1/suppliers/{acme.supplier_id}", headers=_bearer(acme_token))).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{GLOBEX}") as api:
        refused = await api.get("/api/v1/suppliers/", headers=_bearer(acme_token))
        assert refused.status_code == 401


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_acme_ids_are_not_found_on_globex(
    app: HostDispatcher, browser: Any, db: Database, demo: DemoData, world: World, worker_data_dir: Settings
) -> None:
    acme, globex = world.acme, world.globex
    on_acme = await _logged_in(browser, ACME)
    on_globex = await _logged_in(browser, GLOBEX)

    # each supplier's account summary, asked for on its own host and rendered by the real job
    ids = {}
    for page, side in ((on_acme, acme), (on_globex, globex)):
        asked = await page.post_form("/supplier/documents", {"locale": "en"})
        assert asked.status_code == 303, asked.text[:300]
        match = SUMMARY_URL.match(asked.headers["location"])
        assert match, asked.headers["location"]
        ids[side.host] = UUID(match.group(1))
    outcomes = await drain(db, [acme.tenant_id, globex.tenant_id], actor="documents.render")
    assert set(outcomes) <= {"done"}, outcomes

    for page, side, other in ((on_acme, acme, globex), (on_globex, globex, acme)):
        own = await page.get(f"/documents/{ids[side.host]}")
        assert own.status_code == 200, own.text[:300]
        assert own.headers["content-type"] == "application/pdf"
        text = pdf_text(own.content)
        assert side.name in text
        assert other.name not in text
        # the other tenant's summary, with this host's own valid session: as if it did not exist
        foreign = await page.get(f"/documents/{ids[other.host]}")
        assert foreign.status_code == 404, (side.host, foreign.status_code)
        assert other.name not in foreign.text

    # the uploaded document's file: acme's staff get it on acme; on globex neither the supplier
    # user nor globex's own admin reaches it by acme's ids
    async with db.transaction(TenantContext.system(acme.tenant_id)) as session:
        document_id = await session.scalar(
            select(SupplierDocument.id).where(SupplierDocument.supplier_id == acme.supplier_id)
        )
    assert document_id is not None
    file_path = f"/suppliers/{acme.supplier_id}/documents/{document_id}/file"
    buyer = browser(ACME)
    await buyer.login(demo.acme.email("buyer"))
    downloaded = await buyer.get(file_path)
    assert downloaded.status_code == 200
    assert acme.name in pdf_text(downloaded.content)
    assert (await on_globex.get(file_path)).status_code == 404
    globex_admin = browser(GLOBEX)
    await globex_admin.login(demo.globex.email("admin"))
    assert (await globex_admin.get(file_path)).status_code == 404
    assert (await globex_admin.get(f"/suppliers/{acme.supplier_id}")).status_code == 404

    # the JSON API on globex, with globex's own token, does not know acme's supplier either
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{GLOBEX}") as api:
        issued = await api.post("/api/v1/token", json={"email": EMAIL, "password": PASSWORD})
        token = issued.json()["access_token"]
        assert (await api.get(f"/api/v1/suppliers/{acme.supplier_id}", headers=_bearer(token))).status_code == 404
        own = await api.get(f"/api/v1/suppliers/{globex.supplier_id}", headers=_bearer(token))
        assert own.status_code == 200
        assert own.json()["name"] == globex.name
        listed = await api.get("/api/v1/suppliers/", headers=_bearer(token))
        assert listed.status_code == 200
        assert acme.name not in listed.text
        assert globex.name in listed.text


async def _snapshot(db: Database, side: Side) -> tuple[Any, ...]:
    async with db.transaction(TenantContext.system(side.tenant_id)) as session:
        supplier = await session.get(Supplier, (side.tenant_id, side.supplier_id))
        assert supplier is not None

        async def count(model: Any) -> int:
            query = select(func.count()).select_from(model).where(model.supplier_id == side.supplier_id)
            return await session.scalar(query) or 0

        return (
            supplier.name,
            supplier.street,
            supplier.city,
            supplier.phone,
            supplier.email,
            await count(SupplierChangeRequest),
            await count(SupplierDocument),
            await count(Membership),
        )


async def test_writes_on_one_host_leave_the_other_tenant_alone(browser: Any, db: Database, world: World) -> None:
    for side, other in ((world.acme, world.globex), (world.globex, world.acme)):
        untouched = await _snapshot(db, other)
        before = await _snapshot(db, side)
        page = await _logged_in(browser, side.host)
        new_phone = {ACME: "+44 20 7946 0101", GLOBEX: "+44 20 7946 0202"}[side.host]
        profile = {"street": side.street, "city": "Elsewhere", "phone": new_phone, "email": side.email}
        assert (await page.post_form("/supplier/company", profile)).status_code == 302
        bank = {"holder": side.name, "country": "DE", "iban_or_account": "DE89 3704 0044 0532 0130 00"}
        banked = await page.post_form("/supplier/company/bank", bank)
        assert banked.status_code == 302, banked.text[:500]
        assert (await _upload(page, side.document_type, f"{side.name} v2")).status_code == 302
        invited = await page.post_form(
            "/supplier/company/colleagues",
            {"email": f"late-{side.host[:4]}-{CODE}@example.test", "full_name": f"Late {CODE}", "role": "sales"},
        )
        assert invited.status_code == 302

        after = await _snapshot(db, side)
        assert after[1:5] == (side.street, "Elsewhere", new_phone, side.email)
        assert after[5:] == (before[5] + 1, before[6] + 1, before[7] + 1)
        assert await _snapshot(db, other) == untouched

        # and the other host's page still shows its own details, none of the new ones
        there = await (await _logged_in(browser, other.host)).get("/supplier/company")
        assert untouched[3] in there.text  # its own phone
        assert new_phone not in there.text
        assert f"late-{side.host[:4]}-{CODE}@example.test" not in there.text
        # back to the details the other tests know
        restored = {"street": side.street, "city": before[2], "phone": side.phone, "email": side.email}
        assert (await page.post_form("/supplier/company", restored)).status_code == 302
