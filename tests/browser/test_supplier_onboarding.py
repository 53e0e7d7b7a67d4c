"""Supplier onboarding in a real browser, through the pages only: a company registers itself on
acme's supplier portal (a wrong VAT number first), follows the link e-mailed to its person, who
chooses a password there, fills every section of its draft (contact,
category, bank account, the category's required document as a real PDF, the terms) and submits;
acme's buyer finds it in the review queue, downloads the document and asks for more information;
the supplier reads the comment, continues from another browser with e-mail and password, fixes
its trading name and resubmits; the buyer approves the document and the registration; and the
supplier logs in to its portal and finds its company under "Our company".

The live server's embedded worker sends the e-mails (no SMTP here: kept under its data directory
for the operator); the registration link is read from there and opened as the registrant would.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import date, timedelta
from pathlib import Path

import weasyprint
from playwright.async_api import Locator, Page, expect

from backend.dev.demo import DEMO_PASSWORD, DemoData
from backend.suppliers.qualification import create_category, require_document
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.browser.conftest import LiveServer, NewPage, OpenedPage
from tests.fixtures.mail import delivered_link, kept_mail, text_of

PASSWORD = "a-long-enough-password"
VAT_ID = "DE136695976"
STORED_VAT_ID = "136695976"  # python-stdnum's compact form, without the country prefix
IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
MAIL_WAIT_SECONDS = 20


async def _submit(page: Page, button: Locator) -> None:
    """Click a form's button and wait for the page it leads to (every step is a POST + redirect)."""
    async with page.expect_navigation() as navigation:
        await button.click()
    response = await navigation.value
    assert response is not None
    assert response.ok, f"{response.status} from {response.url}"


async def _log_in(opened: OpenedPage, base: str, email: str, password: str, *, lands: str) -> None:
    page = opened.page
    await page.goto(f"{base}/login")
    form = page.locator("main form[action='/login']")
    await form.get_by_label("E-mail").fill(email)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lands)
    await expect(page.locator("header .who")).to_have_attribute("title", email)


async def test_supplier_registers_is_asked_for_more_and_is_approved(
    new_page: NewPage,
    live_server: LiveServer,
    db: Database,
    demo: DemoData,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    acme = demo.tenants["acme"]
    base = live_server.workspace("acme")
    code = f"B{secrets.token_hex(3)}".upper()
    category_name = f"Castings {code}"
    document_name = f"Business licence {code}"
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, category_name)
        await require_document(session, category, f"licence_{code.lower()}", document_name)
    name = f"Gießerei {code} GmbH"
    email = f"onboarding-{code.lower()}@example.test"
    licence = tmp_path / "business-licence.pdf"
    pdf: bytes = weasyprint.HTML(string=f"<h1>Business licence</h1><p>{name}</p>").write_pdf()
    await asyncio.to_thread(licence.write_bytes, pdf)
    issued, expires = date.today() - timedelta(days=30), date.today() + timedelta(days=3 * 365)

    # --- 1. an anonymous visitor registers the company --------------------------------------------
    supplier = await new_page()
    page = supplier.page
    await page.goto(f"{base}/supplier/register")
    await expect(page.locator("main h1")).to_have_text("Register as a supplier of Acme Manufacturing")
    form = page.locator("#register-form")
    await form.get_by_label("Legal name").fill(name)
    await form.get_by_label("Country (ISO code").fill("DE")
    await form.get_by_label("Currency (ISO code").fill("EUR")
    await form.get_by_label("Tax id / VAT number").fill("DE136695977")  # a wrong check digit first
    await form.get_by_label("Street").fill("Werkstraße 5")
    await form.get_by_label("Postal code").fill("45127")
    await form.get_by_label("City").fill("Essen")
    await form.get_by_label("Your name").fill("Greta Gießer")
    await form.get_by_label("Your e-mail").fill(email)
    async with page.expect_navigation() as rejected:
        await form.get_by_role("button", name="Continue").click()
    assert (await rejected.value).status == 400
    await expect(page.locator("#register-form #e-tax_id")).to_contain_text("Not a valid VAT number for Germany")
    await expect(form.get_by_label("Legal name")).to_have_value(name)  # the rest is kept
    await form.get_by_label("Tax id / VAT number").fill(VAT_ID)
    await _submit(page, form.get_by_role("button", name="Continue"))
    await expect(page.locator("#account-message")).to_contain_text("Check your e-mail")

    # the link in the e-mail proves the address; a new login chooses its password there
    path = await delivered_link(email, data_dir=live_server.data_dir, wait_seconds=MAIL_WAIT_SECONDS)
    assert path.startswith("/supplier/register/continue?token=")
    [message] = kept_mail(email, live_server.data_dir)
    assert f"{base}{path}" in text_of(message)  # the link leads to the server that sent it
    await page.goto(f"{base}{path}")
    await expect(page.locator("#register-continue h1")).to_contain_text(name)
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("#f-confirm").fill(PASSWORD)
    await _submit(page, page.get_by_role("button", name="Continue the registration"))
    assert page.url == f"{base}/supplier/register/draft"

    # --- 2. the draft, section by section ---------------------------------------------------------
    await expect(page.locator("main h1")).to_have_text(name)
    status = page.locator("#registration-status")
    await expect(status).to_have_attribute("data-status", "draft")
    await expect(page.locator("#submit-registration")).to_be_disabled()
    missing = page.locator("#missing")
    for gap in ("Accept the supplier terms.", "Add at least one contact.", "Enter your bank account."):
        await expect(missing).to_contain_text(gap)

    contact = page.locator("#contact-form")
    await contact.get_by_label("Name").fill("Greta Gießer")
    await contact.get_by_label("E-mail").fill(email)
    await contact.get_by_label("Phone").fill("+49 201 1234567")
    await contact.get_by_label("Position").fill("Managing director")
    await _submit(page, contact.get_by_role("button", name="Add contact"))
    await expect(page.locator("#contacts ul")).to_contain_text(f"Greta Gießer · {email} · Managing director")
    await expect(missing).not_to_contain_text("Add at least one contact.")

    categories = page.locator("#categories")
    await categories.get_by_label(category_name).check()
    await expect(categories.get_by_label(category_name)).to_be_checked()
    await _submit(page, categories.get_by_role("button", name="Save"))
    await expect(categories.get_by_label(category_name)).to_be_checked()
    await expect(categories.get_by_label(category_name)).to_be_disabled()  # chosen for good
    required = page.locator(f"#documents tr[data-document='licence_{code.lower()}']")
    await expect(required).to_contain_text(document_name)
    await expect(required).to_contain_text("Missing")
    await expect(missing).to_contain_text(f"Upload: {document_name}.")

    bank = page.locator("#bank-form")
    await bank.get_by_label("Account holder").fill(name)
    await expect(bank.get_by_label("Bank country (ISO code)")).to_have_value("DE")  # the company's country
    await bank.get_by_label("Bank name").fill("Commerzbank")
    await bank.get_by_label("IBAN or account number").fill(IBAN)
    await bank.get_by_label("BIC (SWIFT code)").fill(BIC)
    await _submit(page, bank.get_by_role("button", name="Save bank account"))
    await expect(missing).not_to_contain_text("Enter your bank account.")
    await expect(page.locator("#bank-entered")).to_contain_text(f"…{IBAN[-4:]}")  # never the whole number

    upload = page.locator("#document-form")
    await expect(upload.get_by_label("Document")).to_have_value(f"licence_{code.lower()}")
    await upload.get_by_label("Date of issue").fill(issued.isoformat())
    await upload.get_by_label("Expiry date").fill(expires.isoformat())
    await upload.locator("input[type='file']").set_input_files(licence)
    await _submit(page, upload.get_by_role("button", name="Upload"))
    await expect(required).to_contain_text(f"business-licence.pdf (v1, expires {expires.isoformat()})")
    await expect(page.locator("#document-form #file-error")).to_have_count(0)

    terms = page.locator("#terms")
    await expect(terms.locator("#terms-text")).to_contain_text("Changes to bank details take effect only after")
    await terms.get_by_label("We accept the supplier terms of Acme Manufacturing.").check()
    await _submit(page, terms.get_by_role("button", name="Accept"))
    await expect(terms).to_contain_text("Accepted on")

    await expect(missing).to_have_count(0)
    await expect(page.locator("#submit-registration")).to_be_enabled()
    await page.screenshot(path=str(screenshots / "onboarding-draft-complete.png"), full_page=True)
    await _submit(page, page.locator("#submit-registration"))
    await expect(status).to_have_attribute("data-status", "submitted")
    await expect(status).to_contain_text("Submitted: Acme Manufacturing is reviewing your registration.")
    await expect(page.locator("#contact-form")).to_have_count(0)  # read-only while in review
    await expect(page.locator("#company").get_by_role("button", name="Save")).to_be_disabled()

    supplier.problems.assert_none()

    # --- 3. acme's buyer asks for more information ---------------------------------------------
    staff = await new_page()
    office = staff.page
    await _log_in(staff, base, "buyer@acme.test", DEMO_PASSWORD, lands=f"{base}/")
    await office.locator("header nav").get_by_role("link", name="Suppliers", exact=True).click()
    await office.wait_for_url(f"{base}/suppliers")
    await office.locator("main").get_by_role("button", name="Registrations to review").click()
    await office.wait_for_url(f"{base}/suppliers/registrations")
    await expect(office.locator("main h1")).to_have_text("Registrations to review")
    await office.locator("main form[role='search'] input[name='q']").fill(code)
    rows = office.locator("#results table tbody tr")
    await expect(rows).to_have_count(1)  # htmx narrowed the queue to this supplier
    await expect(rows.first).to_contain_text(name)
    await expect(rows.first.locator("td").nth(3)).to_have_text("Submitted")
    await expect(rows.first.locator("td").nth(4)).to_have_text("0")  # nothing missing
    await rows.first.get_by_role("link", name=name).click()
    await office.wait_for_url(re.compile(r"/suppliers/[0-9a-f-]{36}$"))
    detail_url = office.url

    await expect(office.locator("main h1")).to_contain_text(name)
    await expect(office.locator("#supplier-status")).to_have_text("Pending")
    await expect(office.locator("#registration-status")).to_have_text("Submitted")
    await expect(office.locator("#profile")).to_contain_text(STORED_VAT_ID)
    await expect(office.locator("#contacts tbody")).to_contain_text("Greta Gießer")
    await expect(office.locator("#categories [data-qualification]")).to_have_attribute("data-qualification", "pending")
    await expect(office.locator("#bank-and-changes tbody")).to_contain_text("Pending")  # finance decides
    document_row = office.locator("#qualification-documents tbody tr", has_text=document_name)
    await expect(document_row).to_contain_text("Waiting for review")
    async with office.expect_download() as downloading:
        await document_row.get_by_role("link", name="business-licence.pdf").click()
    downloaded = await (await downloading.value).path()
    assert await asyncio.to_thread(Path(downloaded).read_bytes) == pdf  # the very file uploaded

    comment = "Please add your trading name as it appears on your invoices."
    review = office.locator("#review-form")
    await review.get_by_label("Comment to the supplier").fill(comment)
    await _submit(office, review.get_by_role("button", name="Request more information"))
    assert office.url == detail_url
    await expect(office.locator("#registration-status")).to_have_text("More information requested")
    await expect(office.locator("#registration")).to_contain_text(comment)
    await expect(office.locator("#review-form")).to_have_count(0)  # nothing to decide until resubmitted

    # --- 4. the supplier reads the comment, continues elsewhere, fixes it and resubmits ----------
    await page.goto(f"{base}/supplier/register")  # the registration cookie leads to the draft
    await page.wait_for_url(f"{base}/supplier/register/draft")
    await expect(status).to_have_attribute("data-status", "info_requested")
    await expect(status).to_contain_text("Acme Manufacturing needs more information.")
    await expect(page.locator("#review-comment")).to_have_text(comment)
    await page.screenshot(path=str(screenshots / "onboarding-info-requested.png"), full_page=True)

    elsewhere = await new_page()  # another browser: no registration cookie
    other = elsewhere.page
    await other.goto(f"{base}/supplier/register")
    resume = other.locator("#continue-form")
    await resume.get_by_label("E-mail").fill(email)
    await resume.get_by_label("Password").fill(PASSWORD)
    await _submit(other, resume.get_by_role("button", name="Continue"))
    assert other.url == f"{base}/supplier/register/draft"
    await expect(other.locator("#review-comment")).to_have_text(comment)
    company = other.locator("#company form")
    await expect(company.get_by_label("Legal name")).to_have_value(name)
    await company.get_by_label("Trading name").fill("Gießerei Nord")
    await _submit(other, company.get_by_role("button", name="Save"))
    await expect(other.locator("#company form").get_by_label("Trading name")).to_have_value("Gießerei Nord")
    await _submit(other, other.locator("#submit-registration"))
    await expect(other.locator("#registration-status")).to_have_attribute("data-status", "submitted")
    elsewhere.problems.assert_none()

    # --- 5. the buyer approves the document and the registration --------------------------------
    await office.reload()
    await expect(office.locator("#registration-status")).to_have_text("Submitted")
    await expect(office.locator("#profile")).to_contain_text("Gießerei Nord")
    await _submit(office, document_row.get_by_role("button", name="Approve"))
    await expect(document_row).to_contain_text("Approved")
    await expect(office.locator("#categories [data-qualification]")).to_have_attribute(
        "data-qualification", "qualified"
    )
    await _submit(office, office.locator("#review-form").get_by_role("button", name="Approve"))
    assert office.url == detail_url
    await expect(office.locator("#supplier-status")).to_have_text("Active")
    await expect(office.locator("#registration-status")).to_have_text("Approved")
    await expect(office.locator("#portal-users tbody")).to_contain_text(email)
    await office.screenshot(path=str(screenshots / "onboarding-staff-approved.png"), full_page=True)
    staff.problems.assert_none()

    # --- 6. the supplier logs in to its portal ----------------------------------------------------
    # the registration cookie now leads to the login: the approved company lives behind it
    await page.goto(f"{base}/supplier/register/draft")
    await page.wait_for_url(f"{base}/login?next=/supplier")
    await _log_in(supplier, base, email, PASSWORD, lands=f"{base}/supplier")
    await expect(page.locator("main h1")).to_have_text("Supplier portal")
    await expect(page.locator("main article header h2")).to_contain_text(name)
    await expect(page.locator("main article table")).to_contain_text("Active")
    await page.locator("header nav").get_by_role("link", name="Our company").click()
    await page.wait_for_url(f"{base}/supplier/company")
    await expect(page.locator("main h1")).to_have_text(name)
    await expect(page.locator("main p.muted").first).to_contain_text(STORED_VAT_ID)
    await expect(page.locator("#profile").get_by_label("Trading name")).to_have_value("Gießerei Nord")
    await expect(page.locator(f"#documents tr[data-document='licence_{code.lower()}']")).to_have_attribute(
        "data-state", "valid"
    )
    # the registered bank account waits for acme's finance (four eyes): none in force yet
    await expect(page.locator("#account-in-force")).to_have_text("none yet")
    await expect(page.locator("#change-requests [data-status]")).to_have_attribute("data-status", "pending")
    await expect(page.locator("#colleagues")).to_contain_text(email)
    await page.screenshot(path=str(screenshots / "onboarding-supplier-company.png"), full_page=True)
    supplier.problems.assert_none()
