"""Self-registration on acme's supplier portal over HTTP: the first step e-mails a link (and answers
the same for any address), the link proves the address and lets a person without a Merkato login
choose a password, then every section (with field errors where the input is wrong, a hostile upload
refused), submit, a request for more information seen by the supplier, resubmission, approval, and
the supplier's first login to its portal."""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

import weasyprint
from sqlalchemy import select

from backend.dev.demo import DemoData
from backend.jobs.broker import load_jobs
from backend.models import OutgoingMail, Supplier, SupplierRegistration
from backend.suppliers.qualification import create_category, require_document
from backend.suppliers.registration import review
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database
from tests.fixtures.accounts import send_mail, token_of
from tests.fixtures.jobs import drain
from tests.fixtures.mail import delivered_link, mails_to

PASSWORD = "a-long-enough-password"
MESSAGE = re.compile(r'<article class="narrow" id="account-message">.*?</article>', re.DOTALL)


def _message(page: str) -> str:
    found = MESSAGE.search(page)
    assert found, "an account message page"
    return found.group(0)


def _pdf() -> bytes:
    return weasyprint.HTML(string="<p>Business licence</p>").write_pdf()  # type: ignore[no-any-return]


async def _review(db: Database, demo: DemoData, name: str, action: str, comment: str = "") -> None:
    acme = demo.tenants["acme"]
    reviewer = TenantContext(
        acme.id, PartyKind.STAFF, identity_id=acme.identity("buyer"), membership_id=acme.membership("buyer")
    )
    async with db.transaction(reviewer) as session:
        supplier = await session.scalar(select(Supplier).where(Supplier.name == name))
        assert supplier is not None
        registration = await session.scalar(
            select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier.id)
        )
        assert registration is not None
        await review(session, registration, action, comment=comment)


async def test_a_supplier_registers_is_asked_for_more_and_is_approved(
    browser: Any, db: Database, demo: DemoData
) -> None:
    load_jobs()
    acme = demo.tenants["acme"]
    code = f"R{secrets.token_hex(3)}".upper()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, "Castings")
        await require_document(session, category, f"licence_{code.lower()}", "Business licence")
    page = browser("acme.localhost")
    name = f"Gießerei {code} GmbH"
    email = f"reg-{code.lower()}@example.test"
    start = await page.get("/supplier/register")
    assert start.status_code == 200
    assert 'id="register-form"' in start.text
    refused = await page.post_form("/supplier/register", {"legal_name": "", "country": "DE"})
    assert refused.status_code == 400
    assert 'id="e-legal_name"' in refused.text
    company = {
        "legal_name": name,
        "country": "DE",
        "currency": "EUR",
        "tax_id": "DE136695976",
        "street": "Werkstraße 5",
        "city": "Essen",
        "full_name": "Greta Gießer",
        "login_email": email,
    }
    asked = await page.post_form("/supplier/register", company)
    assert asked.status_code == 200
    assert "Check your e-mail" in asked.text
    async with db.transaction(TenantContext.system(acme.id)) as session:  # nothing exists before the link
        assert await session.scalar(select(Supplier.id).where(Supplier.name == name)) is None
    await send_mail(db, [acme.id])
    path = await delivered_link(email)
    assert path.startswith("/supplier/register/continue?token=")
    opened = await page.get(path)
    assert opened.status_code == 200
    assert name in opened.text
    assert 'name="password"' in opened.text  # a new login chooses its password here
    short = await page.post_form(path.split("?")[0], {"token": token_of(path), "password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert 'id="e-password"' in short.text
    started = await page.post_form(
        path.split("?")[0], {"token": token_of(path), "password": PASSWORD, "confirm": PASSWORD}
    )
    assert started.headers["location"] == "/supplier/register/draft"
    assert (await browser().get(path)).status_code == 400  # used up
    draft = await page.get("/supplier/register/draft")
    assert 'data-status="draft"' in draft.text
    assert 'id="submit-registration" disabled' in draft.text

    assert (await page.post_form("/supplier/register/contacts", {"name": "Greta", "email": email})).status_code == 302
    assert (await page.post_form("/supplier/register/categories", {"category": str(category.id)})).status_code == 302
    bad_bank = await page.post_form(
        "/supplier/register/bank", {"holder": name, "country": "DE", "iban_or_account": "DE89370400440532013001"}
    )
    assert bad_bank.status_code == 400
    assert "check digits" in bad_bank.text
    bank = {"holder": name, "country": "DE", "iban_or_account": "DE89 3704 0044 0532 0130 00"}
    assert (await page.post_form("/supplier/register/bank", bank)).status_code == 302
    token = await page.csrf_token()
    dates = {"document_type": f"licence_{code.lower()}", "issued_on": "2026-01-05", "expires_on": "2031-01-05"}
    hostile = await page.client.post(
        "/supplier/register/documents",
        data={**dates, "_csrf_token": token},
        files={"file": ("licence.pdf", io.BytesIO(b"<html><script>alert(1)</script></html>"), "application/pdf")},
    )
    assert hostile.status_code == 400
    assert 'id="file-error"' in hostile.text
    uploaded = await page.client.post(
        "/supplier/register/documents",
        data={**dates, "_csrf_token": token},
        files={"file": ("../../营业执照.pdf", io.BytesIO(_pdf()), "application/octet-stream")},
    )
    assert uploaded.status_code == 302, uploaded.text
    assert (await page.post_form("/supplier/register/terms", {"accept": "yes"})).status_code == 302
    ready = await page.get("/supplier/register/draft")
    assert 'id="missing"' not in ready.text
    assert "营业执照.pdf" in ready.text
    assert (await page.post_form("/supplier/register/submit")).status_code == 302
    assert 'data-status="submitted"' in (await page.get("/supplier/register/draft")).text
    # under review the draft has moved on: another change is a conflict (409), not a bad form
    late = await page.post_form("/supplier/register/contacts", {"name": "Late Latecomer", "email": email})
    assert late.status_code == 409
    assert 'id="registration-error"' in late.text
    assert "Late Latecomer" not in (await page.get("/supplier/register/draft")).text

    await _review(db, demo, name, "request_info", "Please upload the licence as a colour scan.")
    asked = await page.get("/supplier/register/draft")
    assert 'data-status="info_requested"' in asked.text
    assert "colour scan" in asked.text
    # from another browser, with e-mail and password
    other = browser("acme.localhost")
    resumed = await other.post_form("/supplier/register/sign-in", {"email": email, "password": PASSWORD})
    assert resumed.headers["location"] == "/supplier/register/draft"
    assert (await other.post_form("/supplier/register/submit")).status_code == 302
    await _review(db, demo, name, "approve")
    # from now on the company is behind the login (where access can be taken away), not the cookie
    moved = await page.get("/supplier/register/draft")
    assert (moved.status_code, moved.headers["location"]) == (302, "/login?next=/supplier")
    # and the cookie is forgotten: a change through it finds no draft any more
    gone = await page.post_form("/supplier/register/contacts", {"name": "Late", "email": "late@example.test"})
    assert (gone.status_code, gone.headers["location"]) == (302, "/supplier/register")
    await drain(db, [acme.id])
    async with db.transaction(TenantContext.system(acme.id)) as session:
        templates = set(await session.scalars(select(OutgoingMail.template).where(OutgoingMail.to_address == email)))
    assert {"registration_link", "supplier_registration"} <= templates
    portal = browser("acme.localhost")
    assert (await portal.login(email, PASSWORD)).headers["location"] == "/supplier"
    home = await portal.get("/supplier")
    assert name in home.text


async def test_the_first_step_answers_alike_for_any_address_and_says_the_rest_by_mail(
    browser: Any, db: Database, demo: DemoData
) -> None:
    """No password is asked for and nothing tells whether the address has a Merkato login: the
    e-mail says what applies (a link to continue, or that the address has access here already)."""
    acme = demo.tenants["acme"]
    form = {
        "legal_name": "Same Answer Ltd",
        "country": "GB",
        "currency": "GBP",
        "tax_id": "GB980780684",
        "street": "1 High Street",
        "city": "London",
        "full_name": "Sam Answer",
    }
    start = await browser().get("/supplier/register")
    assert 'name="password"' not in start.text.split('id="continue-form"')[0]
    stranger = f"stranger-{secrets.token_hex(3)}@example.test"
    addresses = (stranger, "admin@globex.test", "supplier@acme.test")
    answers = [await browser().post_form("/supplier/register", {**form, "login_email": a}) for a in addresses]
    assert {a.status_code for a in answers} == {200}
    messages = {_message(a.text).replace(address, "ADDRESS") for a, address in zip(answers, addresses, strict=True)}
    assert len(messages) == 1
    await send_mail(db, [acme.id])
    [to_stranger] = await mails_to(db, acme.id, stranger)
    [to_globex] = await mails_to(db, acme.id, "admin@globex.test")
    member_mails = [
        m for m in await mails_to(db, acme.id, "supplier@acme.test") if m.template.startswith("registration")
    ]
    assert (to_stranger.template, to_globex.template) == ("registration_link", "registration_link")
    assert [m.template for m in member_mails] == ["registration_member"]
    # a person with a Merkato login continues without choosing a password: the link proves the address
    path = await delivered_link("admin@globex.test")
    page = browser()
    shown = await page.get(path)
    assert 'name="password"' not in shown.text
    started = await page.post_form(path.split("?")[0], {"token": token_of(path)})
    assert started.headers["location"] == "/supplier/register/draft"
    # their password is their own, untouched
    assert (await browser("globex.localhost").login("admin@globex.test")).headers["location"] == "/"
