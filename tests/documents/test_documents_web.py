"""Supplier account summaries end to end: asked for on a page, rendered by the real job through
the outbox consumer, downloaded through the one route that checks tenant, party and role — and
nobody else gets them: another supplier, a customer, another tenant's staff (404), staff
without the permission (403)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from backend.accounts.service import PersonForm, add_person
from backend.documents.render import RenderTimeout
from backend.models import Document, DocumentStatus, MembershipKind, OutboxJob
from backend.settings import Settings
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.documents.pdfs import pdf_text
from tests.fixtures.jobs import drain
from tests.fixtures.people import give_login
from tests.web.conftest import Browser

WEB_ROOT = Path(__file__).resolve().parents[2] / "portals"
SUPPORT = "support-documents@acme.test"
SUPPORT_PASSWORD = "support-documents-password"
DOCUMENT_URL = re.compile(r"^/documents/([0-9a-f-]{36})$")


async def logged_in(browser: Any, email: str, host: str = "acme.localhost", **kwargs: str) -> Browser:
    made: Browser = browser(host)
    assert (await made.login(email, **kwargs)).status_code in (302, 303)
    return made


async def ask(as_user: Browser, path: str, locale: str = "en") -> UUID:
    response = await as_user.post_form(path, {"locale": locale})
    assert response.status_code == 303, response.text[:300]
    match = DOCUMENT_URL.match(response.headers["location"])
    assert match, response.headers["location"]
    return UUID(match.group(1))


async def render_jobs(db: Database, tenant_id: UUID) -> dict[str, int]:
    outcomes = await drain(db, [tenant_id], actor="documents.render")
    assert set(outcomes) <= {"done"}, outcomes
    return outcomes


async def stored(db: Database, tenant_id: UUID, document_id: UUID) -> Document:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        document = await session.get(Document, (tenant_id, document_id))
        assert document is not None
        return document


async def download(as_user: Browser, document_id: UUID) -> bytes:
    response = await as_user.get(f"/documents/{document_id}")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="supplier-summary-SUP-')
    assert "no-store" in response.headers["cache-control"]
    assert response.content.startswith(b"%PDF-")
    return response.content


@pytest.fixture(scope="module")
async def support_staff(db: Database, demo: Any) -> str:
    """A staff member of acme whose role (support) may not see suppliers."""
    async with db.transaction(TenantContext.system(demo.acme.id)) as session:
        await give_login(session, SUPPORT, SUPPORT_PASSWORD, "Sam Support")
        form = PersonForm(email=SUPPORT, full_name="Sam Support", roles=["support"])
        await add_person(session, form, kind=MembershipKind.STAFF)
    return SUPPORT


async def test_staff_ask_for_a_summary_and_download_the_pdf(
    browser: Any, db: Database, demo: Any, shared_data_dir: Settings
) -> None:
    acme = demo.acme
    supplier_a = acme.supplier_ids[0]
    buyer = await logged_in(browser, acme.email("buyer"))
    page = await buyer.get(f"/suppliers/{supplier_a}")
    assert f'action="/suppliers/{supplier_a}/documents"' in page.text

    document_id = await ask(buyer, f"/suppliers/{supplier_a}/documents")
    assert await ask(buyer, f"/suppliers/{supplier_a}/documents") == document_id  # still pending: the same one
    async with db.transaction(TenantContext.system(acme.id)) as session:
        jobs = await session.scalar(select(func.count()).where(OutboxJob.key == f"documents.render:{document_id}"))
    assert jobs == 1

    waiting = await buyer.get(f"/documents/{document_id}")
    assert waiting.status_code == 200
    assert "being generated" in waiting.text
    poll = await buyer.get(f"/documents/{document_id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in poll.text
    assert "<html" not in poll.text  # a fragment, swapped into the page

    assert (await render_jobs(db, acme.id)).get("done", 0) >= 1

    document = await stored(db, acme.id, document_id)
    assert document.status == DocumentStatus.READY
    poll = await buyer.get(f"/documents/{document_id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in poll.text
    assert f'href="/documents/{document_id}"' in poll.text

    pdf = await download(buyer, document_id)
    text = pdf_text(pdf)
    assert "深圳华强电子有限公司" in text
    assert "Acme Manufacturing" in text
    assert "Supplier account summary" in text

    # the bytes live in the data directory (outside the web root), under the tenant's own folder
    assert document.storage_key == f"{acme.id}/{document_id}.pdf"
    path = shared_data_dir.data_dir / "documents" / str(acme.id) / f"{document_id}.pdf"
    assert path.read_bytes() == pdf
    assert not path.resolve().is_relative_to(WEB_ROOT.resolve())

    listed = await buyer.get(f"/suppliers/{supplier_a}")
    assert f'href="/documents/{document_id}" download' in listed.text


async def test_a_chinese_summary_speaks_chinese(
    browser: Any, db: Database, demo: Any, shared_data_dir: Settings
) -> None:
    acme = demo.acme
    buyer = await logged_in(browser, acme.email("buyer"))
    document_id = await ask(buyer, f"/suppliers/{acme.supplier_ids[0]}/documents", locale="zh_Hans")
    await render_jobs(db, acme.id)

    text = pdf_text(await download(buyer, document_id))
    assert "深圳华强电子有限公司" in text  # the supplier's name, from the data
    assert "中国" in text  # the country, named in Chinese by Babel
    assert "人民币" in text
    assert "Acme Manufacturing" in text


async def test_only_the_right_people_get_the_pdf(
    browser: Any, db: Database, demo: Any, shared_data_dir: Settings, support_staff: str
) -> None:
    acme, globex = demo.acme, demo.globex
    buyer = await logged_in(browser, acme.email("buyer"))
    document_id = await ask(buyer, f"/suppliers/{acme.supplier_ids[0]}/documents")
    await render_jobs(db, acme.id)
    path = f"/documents/{document_id}"

    supplier_a = await logged_in(browser, acme.email("supplier"))
    assert "深圳华强电子有限公司" in pdf_text(await download(supplier_a, document_id))
    viewer = await logged_in(browser, acme.email("viewer"))
    await download(viewer, document_id)

    for email in (acme.email("supplier2"), acme.email("customer"), acme.email("customer2")):
        other = await logged_in(browser, email)
        assert (await other.get(path)).status_code == 404, email
    other_tenant = await logged_in(browser, globex.email("admin"), host="globex.localhost")
    assert (await other_tenant.get(path)).status_code == 404
    support = await logged_in(browser, support_staff, password=SUPPORT_PASSWORD)
    assert (await support.get(path)).status_code == 403
    anonymous = browser("acme.localhost")
    assert (await anonymous.get(path)).headers["location"].startswith("/login?")

    # asking is guarded the same way: another tenant's supplier is not there to ask about
    assert (await buyer.post_form(f"/suppliers/{globex.supplier_ids[0]}/documents")).status_code == 404
    assert (await support.post_form(f"/suppliers/{acme.supplier_ids[0]}/documents")).status_code == 403
    assert (await buyer.post_form(f"/suppliers/{acme.supplier_ids[0]}/documents", {"locale": "xx"})).status_code == 400


async def test_a_supplier_asks_for_its_own_summary(
    browser: Any, db: Database, demo: Any, shared_data_dir: Settings
) -> None:
    acme = demo.acme
    supplier_b = await logged_in(browser, acme.email("supplier2"))
    home = await supplier_b.get("/supplier")
    assert 'action="/supplier/documents"' in home.text

    document_id = await ask(supplier_b, "/supplier/documents")
    document = await stored(db, acme.id, document_id)
    assert document.supplier_id == acme.supplier_ids[1]  # their own company, whatever the form said
    await render_jobs(db, acme.id)

    text = pdf_text(await download(supplier_b, document_id))
    assert "Müller Präzisionstechnik GmbH" in text
    assert "Jonas Müller" in text  # the supplier's portal user, as a contact
    assert f'href="/documents/{document_id}" download' in (await supplier_b.get("/supplier")).text

    supplier_a = await logged_in(browser, acme.email("supplier"))
    assert (await supplier_a.get(f"/documents/{document_id}")).status_code == 404
    assert f"/documents/{document_id}" not in (await supplier_a.get("/supplier")).text
    buyer = await logged_in(browser, acme.email("buyer"))
    await download(buyer, document_id)


async def test_a_render_that_fails_marks_the_document_failed(
    browser: Any, db: Database, demo: Any, shared_data_dir: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_slow(*args: Any, **kwargs: Any) -> bytes:
        raise RenderTimeout("rendering took longer than 30 seconds and was stopped")

    monkeypatch.setattr("backend.documents.tasks.render_pdf", too_slow)
    acme = demo.acme
    supplier = acme.supplier_ids[2]  # one no other test asks about, so nothing else is pending for it
    buyer = await logged_in(browser, acme.email("buyer"))
    document_id = await ask(buyer, f"/suppliers/{supplier}/documents")
    await render_jobs(db, acme.id)  # the job itself is done: retrying the same render cannot help

    document = await stored(db, acme.id, document_id)
    assert document.status == DocumentStatus.FAILED
    assert "longer than 30 seconds" in (document.error or "")
    page = await buyer.get(f"/documents/{document_id}")
    assert page.status_code == 200
    assert "could not be generated" in page.text
    assert "Failed" in (await buyer.get(f"/suppliers/{supplier}")).text
