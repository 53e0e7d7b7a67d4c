"""Web hardening as Chromium sees it: the Content-Security-Policy refuses inline script and style
(and the tests hear of it: every other browser test fails on any refusal); a supplier's file too
large to upload brings the form back with its message, not a broken page; a reviewer's browser
shows a supplier's picture in a sandboxed document and saves its PDFs instead of opening them,
because Chromium's viewer would run a PDF's own JavaScript whatever the headers say."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from datetime import date, timedelta
from pathlib import Path

import weasyprint
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, expect

from backend.dev.demo import DemoData
from backend.suppliers.qualification import create_category, require_document, supply_category
from portals.shared.security_headers import SANDBOXED_FILE_POLICY
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.browser.conftest import LiveServer, NewPage, OpenedPage, log_in
from tests.uploads.samples import png

MB = 1024 * 1024
UPLOAD_MAX_MB = 10  # the live server's default MERKATO_UPLOAD_MAX_MB


async def _wait_for_violations(opened: OpenedPage, count: int) -> None:
    for _ in range(100):
        if len(opened.problems.csp_violations) >= count:
            return
        await opened.page.wait_for_timeout(50)
    raise AssertionError(f"expected {count} violations, heard {opened.problems.csp_violations}")


async def test_the_policy_refuses_inline_script_and_style(new_page: NewPage, live_server: LiveServer) -> None:
    """What an injected script or style would meet in every page; also proof that the watch the
    other browser tests rely on hears each refusal."""
    opened = await new_page()
    page = opened.page
    response = await page.goto(f"{live_server.workspace('acme')}/login")
    assert response is not None
    assert "script-src 'self'" in (await response.header_value("content-security-policy") or "")
    await page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.append(script);
          document.body.setAttribute("style", "background: red");
        }"""
    )
    await _wait_for_violations(opened, 2)
    assert await page.evaluate("() => window.injected === undefined")
    assert await page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    refused = " ".join(opened.problems.csp_violations)
    assert "script-src-elem" in refused
    assert "style-src-attr" in refused
    # htmx, configured by the page, injected no <style> of its own
    assert await page.evaluate("() => document.querySelectorAll('style').length") == 0
    opened.problems.csp_violations.clear()  # heard, as they should be: not a failure of this test


async def _upload(page: Page, path: Path, *, document_type: str) -> int:
    form = page.locator("#document-form")
    await form.get_by_label("Document").select_option(document_type)
    await form.get_by_label("Date of issue").fill((date.today() - timedelta(days=10)).isoformat())
    await form.get_by_label("Expiry date").fill((date.today() + timedelta(days=400)).isoformat())
    await form.locator("input[type='file']").set_input_files(path)
    async with page.expect_navigation() as navigation:
        await form.get_by_role("button", name="Upload a new version").click()
    response = await navigation.value
    assert response is not None
    return response.status


async def test_too_large_a_file_brings_the_form_back_and_reviewers_save_pdfs(
    new_page: NewPage, live_server: LiveServer, db: Database, demo: DemoData, tmp_path: Path
) -> None:
    acme = demo.tenants["acme"]
    base = live_server.workspace("acme")
    code = f"H{secrets.token_hex(3)}".upper()
    licence, photo = f"licence_{code.lower()}", f"photo_{code.lower()}"
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, f"Valves {code}")
        await require_document(session, category, licence, f"Licence {code}")
        await require_document(session, category, photo, f"Factory photo {code}")
        await supply_category(session, acme.supplier_ids[0], category.id, today=date.today())
    pdf_file, png_file, huge = tmp_path / "licence.pdf", tmp_path / "factory.png", tmp_path / "scan.pdf"
    await asyncio.to_thread(pdf_file.write_bytes, weasyprint.HTML(string="<h1>Licence</h1>").write_pdf())
    await asyncio.to_thread(png_file.write_bytes, png())
    # over the request's body limit too (the upload limit and one megabyte more)
    await asyncio.to_thread(huge.write_bytes, b"%PDF-1.7\n" + bytes((UPLOAD_MAX_MB + 2) * MB))

    # --- the supplier: too large a file first, then the real ones ------------------------------------
    supplier = await new_page()
    page = supplier.page
    await log_in(supplier, base, "supplier@acme.test", lands=f"{base}/supplier")
    await page.goto(f"{base}/supplier/company")
    assert await _upload(page, huge, document_type=licence) == 400
    await expect(page.locator("#document-form #file-error")).to_have_text(
        f"The file is larger than {UPLOAD_MAX_MB} MB, the most accepted here. Please choose a smaller file."
    )
    await expect(page.locator(f"#documents tr[data-document='{licence}']")).to_contain_text("Missing")
    assert await _upload(page, pdf_file, document_type=licence) == 200  # after the redirect
    assert await _upload(page, png_file, document_type=photo) == 200
    await expect(page.locator(f"#documents tr[data-document='{licence}']")).to_contain_text("licence.pdf")
    await expect(page.locator(f"#documents tr[data-document='{photo}']")).to_contain_text("factory.png")
    supplier.problems.assert_none()

    # --- the reviewer: the picture is shown, sandboxed; the PDF is saved, never opened -------------
    reviewer = await new_page()
    office = reviewer.page
    await log_in(reviewer, base, "admin@acme.test", lands=f"{base}/")
    await office.goto(f"{base}/suppliers/{acme.supplier_ids[0]}")
    await expect(office.locator("#downloads-only")).to_be_visible()
    preview = office.locator("#qualification-documents tr", has_text=f"Factory photo {code}").locator("img")
    await preview.scroll_into_view_if_needed()  # it loads lazily
    await office.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=await preview.element_handle())
    row = office.locator("#qualification-documents tr", has_text=f"Licence {code}")
    await expect(row.get_by_role("link", name="View")).to_have_count(0)
    async with office.expect_download() as saving:
        await row.get_by_role("link", name="licence.pdf").click()
    saved = await saving.value
    assert saved.suggested_filename == "licence.pdf"
    pdf_url = saved.url
    # asked for in the tab all the same, it is still saved: no viewer runs inside the session
    async with office.expect_download() as again:
        with contextlib.suppress(PlaywrightError):  # a navigation that became a download "fails"
            await office.goto(f"{pdf_url}?inline=true")
    assert (await again.value).suggested_filename == "licence.pdf"

    image_href = await preview.locator("xpath=..").get_attribute("href")
    assert image_href is not None
    picture = await new_page()
    await log_in(picture, base, "admin@acme.test", lands=f"{base}/")
    shown = await picture.page.goto(f"{base}{image_href}")
    assert shown is not None
    assert (await shown.header_value("content-disposition") or "").startswith("inline;")
    assert await shown.header_values("content-security-policy") == [SANDBOXED_FILE_POLICY]
    # shown as a picture, in a document of no origin: nothing in it could reach the session
    assert await picture.page.evaluate("() => document.images[0].naturalWidth > 0")
    assert await picture.page.evaluate("() => window.origin") == "null"
    reviewer.problems.assert_none()
    picture.problems.assert_none()
