"""MERKATO_UPLOAD_MAX_MB over HTTP, on both pages that upload (a registration draft, the supplier's
company page): a file just over the limit, and one so large the request is over Litestar's body
limit, both get the page back (400) with the message on the file field and leave nothing stored;
the CSRF check still holds for the oversized form; one under the limit is stored. Absurd sizes get
the 413 page. The app here takes 1 MB, so the files stay small."""

from __future__ import annotations

import io
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import weasyprint
from sqlalchemy import func, select

from backend.app import create_app
from backend.dev.demo import DemoData
from backend.models import Supplier, SupplierDocument
from backend.suppliers.qualification import create_category, require_document, supply_category
from portals.shared.upload_limit import READ_FACTOR
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.accounts import register_supplier
from tests.web.conftest import Browser, web_settings

MB = 1024 * 1024
MESSAGE = "The file is larger than 1 MB, the most accepted here. Please choose a smaller file."
DATES = {"issued_on": "2026-01-05", "expires_on": "2031-01-05"}


@pytest.fixture(scope="module")
def small_app(db: Database, demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> HostDispatcher:
    settings = web_settings(tmp_path_factory.mktemp("upload-limit"), MERKATO_UPLOAD_MAX_MB="1")
    assert settings.request_max_body_bytes == 2 * MB
    return create_app(settings, database=db)


@pytest.fixture
async def browser_of(small_app: HostDispatcher) -> AsyncIterator[Any]:
    opened: list[Browser] = []

    def make() -> Browser:
        opened.append(Browser(small_app, "acme.localhost"))
        return opened[-1]

    yield make
    for b in opened:
        await b.aclose()


def _pdf(size: int | None = None) -> bytes:
    """A real PDF, or (with `size`) bytes that start like one, for the size check comes first."""
    if size is None:
        return weasyprint.HTML(string="<p>Business licence</p>").write_pdf()  # type: ignore[no-any-return]
    return b"%PDF-1.7\n" + bytes(size - 9)


@dataclass
class UploadPage:
    browser: Browser
    path: str  # where the form posts
    supplier_id: UUID
    document_type: str

    async def upload(self, content: bytes, *, csrf: bool = True) -> Any:
        fields = {"document_type": self.document_type, **DATES}
        if csrf:
            fields["_csrf_token"] = await self.browser.csrf_token()
        return await self.browser.client.post(
            self.path, data=fields, files={"file": ("licence.pdf", io.BytesIO(content), "application/pdf")}
        )


async def _category(db: Database, demo: DemoData) -> tuple[Any, str]:
    code = f"U{secrets.token_hex(3)}".upper()
    async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
        category = await create_category(session, code, "Fasteners")
        await require_document(session, category, f"licence_{code.lower()}", "Business licence")
    return category, f"licence_{code.lower()}"


async def _company_page(db: Database, demo: DemoData, browser: Browser) -> UploadPage:
    acme = demo.tenants["acme"]
    category, document_type = await _category(db, demo)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await supply_category(session, acme.supplier_ids[0], category.id, today=category.created_at.date())
    assert (await browser.login("supplier@acme.test")).headers["location"] == "/supplier"
    return UploadPage(browser, "/supplier/company/documents", acme.supplier_ids[0], document_type)


async def _registration_draft(db: Database, demo: DemoData, browser: Browser) -> UploadPage:
    category, document_type = await _category(db, demo)
    code = document_type.rsplit("_", 1)[1]
    name = f"Schrauben {code} GmbH"
    company = {
        "legal_name": name,
        "country": "DE",
        "currency": "EUR",
        "tax_id": "DE136695976",
        "street": "Werkstraße 5",
        "city": "Essen",
        "full_name": "Greta Gießer",
        "login_email": f"upload-{code}@example.test",
    }
    started = await register_supplier(db, browser, demo.tenants["acme"].id, company, "a-long-enough-password")
    assert started.headers["location"] == "/supplier/register/draft", started.text
    chosen = await browser.post_form("/supplier/register/categories", {"category": str(category.id)})
    assert chosen.status_code == 302
    async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
        supplier_id = await session.scalar(select(Supplier.id).where(Supplier.name == name))
    assert supplier_id is not None
    return UploadPage(browser, "/supplier/register/documents", supplier_id, document_type)


async def _stored(db: Database, demo: DemoData, supplier_id: UUID) -> int:
    async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
        count = await session.scalar(
            select(func.count()).select_from(SupplierDocument).where(SupplierDocument.supplier_id == supplier_id)
        )
    return count or 0


def _files(app: HostDispatcher) -> list[Path]:
    root = app.tenant.state.settings.data_dir / "documents"  # type: ignore[attr-defined]
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.mark.parametrize("page_kind", ["company", "registration"])
async def test_an_oversized_upload_gets_the_form_back(
    small_app: HostDispatcher, browser_of: Any, db: Database, demo: DemoData, page_kind: str
) -> None:
    opened = browser_of()
    page = await (_company_page if page_kind == "company" else _registration_draft)(db, demo, opened)
    files_before, stored_before = _files(small_app), await _stored(db, demo, page.supplier_id)

    # just over the limit: the body is within Litestar's limit, the upload gate says no
    just_over = await page.upload(_pdf(MB + 1))
    # so large that the request is over the body limit too: the file is dropped before the form is read
    far_over = await page.upload(_pdf(3 * MB))
    for refused in (just_over, far_over):
        assert refused.status_code == 400, refused.text[:500]
        assert 'id="document-form"' in refused.text  # the page, with its form
        assert f'<small class="error" id="file-error">{MESSAGE}</small>' in refused.text
    assert await _stored(db, demo, page.supplier_id) == stored_before
    assert _files(small_app) == files_before

    # the oversized form is still a form: without its CSRF token it is refused as any other
    assert (await page.upload(_pdf(3 * MB), csrf=False)).status_code == 403
    # beyond what is worth reading to its end: the plain 413 page, with its headers
    absurd = await page.upload(_pdf(2 * MB * READ_FACTOR + 1))
    assert absurd.status_code == 413
    assert "too large to send" in absurd.text
    assert absurd.headers["x-content-type-options"] == "nosniff"
    assert await _stored(db, demo, page.supplier_id) == stored_before
    assert _files(small_app) == files_before

    # under the limit it is stored, and the same browser goes on with the same session
    accepted = await page.upload(_pdf())
    assert accepted.status_code == 302, accepted.text[:500]
    assert await _stored(db, demo, page.supplier_id) == stored_before + 1
    assert len(_files(small_app)) == len(files_before) + 1
