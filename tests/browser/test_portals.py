"""The three portals in a real browser: log in through the forms, use the staff pages, switch the
language, enter a workspace from the apex chooser, and meet the 404 page as the wrong audience.

Every page is screenshotted to tests/browser/screenshots/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.async_api import expect
from sqlalchemy import func, select

from backend.dev.demo import DEMO_LOGINS, DemoData
from backend.kit.i18n import LOCALE_DIR
from backend.models import Customer, Item, Membership, MembershipKind, Supplier
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.browser.conftest import LiveServer, NewPage, OpenedPage, log_in

RAW_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}")
# Chart.js animates bars in for a second; wait for the animation to have started and ended.
CHART_SETTLED = """async (id) => {
  const chart = Chart.getChart(id);
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  while (Chart.animator.running(chart)) await new Promise((done) => setTimeout(done, 50));
}"""


def _who(email: str) -> str:
    """The party a demo portal login belongs to (its company name)."""
    return next(login.who for login in DEMO_LOGINS if login.email == email)


async def _looks_right(opened: OpenedPage) -> None:
    """Styled (Pico loaded), no raw template syntax, no failed assets or script errors."""
    page = opened.page
    body = await page.inner_text("body")
    assert not RAW_TEMPLATE.search(body), f"raw template syntax on {page.url}"
    # Pico sets the page's font and removes the default 8 px body margin: an unstyled page keeps it.
    assert await page.evaluate("getComputedStyle(document.body).margin") == "0px", f"{page.url} is unstyled"
    opened.problems.assert_none()


async def _shot(opened: OpenedPage, screenshots: Path, name: str) -> None:
    await _looks_right(opened)
    await opened.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


async def _counts(db: Database, demo: DemoData) -> dict[str, int]:
    """What the dashboard should show, counted the same way in acme's own context."""
    async with db.transaction(TenantContext.system(demo.acme.id)) as session:
        staff = select(func.count()).where(Membership.kind == MembershipKind.STAFF)
        return {
            "suppliers": await session.scalar(select(func.count()).select_from(Supplier)) or 0,
            "customers": await session.scalar(select(func.count()).select_from(Customer)) or 0,
            "items": await session.scalar(select(func.count()).select_from(Item)) or 0,
            "staff": await session.scalar(staff) or 0,
        }


async def _suppliers_named(db: Database, demo: DemoData, name: str) -> int:
    async with db.transaction(TenantContext.system(demo.acme.id)) as session:
        return await session.scalar(select(func.count()).select_from(Supplier).where(Supplier.name == name)) or 0


def _zh_translations(*msgids: str) -> dict[str, str]:
    """The finished zh_Hans translations of these messages (none while the catalog is missing)."""
    po = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return {}
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="zh_Hans")
    found = {}
    for msgid in msgids:
        message = catalog.get(msgid)
        if message is not None and message.string and not message.fuzzy and isinstance(message.string, str):
            found[msgid] = message.string
    return found


# --- 1. the three portals ------------------------------------------------------------------------


async def test_staff_dashboard(
    new_page: NewPage, live_server: LiveServer, db: Database, demo: DemoData, screenshots: Path
) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    expected = await _counts(db, demo)
    await log_in(opened, base, "admin@acme.test", lands=f"{base}/")

    await expect(page.locator("main h1")).to_have_text("Dashboard")
    for heading in ("Suppliers", "Customers", "Items", "Staff users"):
        await expect(page.locator(".cards article header", has_text=heading)).to_be_visible()

    nav = page.locator("header nav")
    for label, href in (("Suppliers", "/suppliers"), ("Customers", "/customers"), ("Items", "/items")):
        await expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute("href", href)
    await nav.locator("#admin-menu summary").click()  # the administration pages sit in one menu
    await expect(nav.get_by_role("link", name="Users", exact=True)).to_have_attribute("href", "/admin/users")
    await expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    await expect(page.locator("header .tenant-name")).to_have_text("Acme Manufacturing")

    # the suppliers-by-country chart drew something (Chart.js loaded, dashboard.js ran)
    await expect(page.locator("#suppliers-by-country")).to_be_visible()
    await page.wait_for_function("() => window.Chart && Chart.getChart('suppliers-by-country') !== undefined")
    await page.evaluate(CHART_SETTLED, "suppliers-by-country")  # a screenshot of the finished bars
    await _shot(opened, screenshots, "staff-dashboard")

    # the figures are acme's own counts
    assert expected["suppliers"] >= 5
    assert expected["staff"] >= 3
    for key, count in expected.items():
        await expect(page.locator(f"[data-count='{key}']")).to_have_text(str(count))


@pytest.mark.parametrize(
    ("email", "portal", "heading"),
    [("supplier@acme.test", "supplier", "Supplier portal"), ("customer@acme.test", "customer", "Customer portal")],
)
async def test_party_portal_home(
    new_page: NewPage, live_server: LiveServer, screenshots: Path, email: str, portal: str, heading: str
) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    await log_in(opened, base, email, lands=f"{base}/{portal}")

    company = _who(email)
    await expect(page.locator("main h1")).to_have_text(heading)
    await expect(page.locator("main article header h2")).to_contain_text(company)
    await expect(page.locator("main")).to_contain_text("Welcome, ")
    await expect(page.locator("main ul")).to_contain_text(email)  # they are among the colleagues
    # their own menu only: Home, none of the staff pages
    nav = page.locator("header nav")
    await expect(nav.get_by_role("link", name="Home")).to_have_attribute("href", f"/{portal}")
    for staff_only in ("Suppliers", "Customers", "Items", "Users"):
        await expect(nav.get_by_role("link", name=staff_only, exact=True)).to_have_count(0)
    await _shot(opened, screenshots, f"{portal}-portal")


# --- 2. suppliers: search, detail, portal user, new supplier ------------------------------------


async def test_admin_manages_suppliers(
    new_page: NewPage, live_server: LiveServer, db: Database, demo: DemoData, screenshots: Path
) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    await log_in(opened, base, "admin@acme.test", lands=f"{base}/")

    # the list, then a search that finds exactly one supplier
    await page.locator("header nav").get_by_role("link", name="Suppliers", exact=True).click()
    await page.wait_for_url(f"{base}/suppliers")
    await expect(page.locator("main h1")).to_have_text("Suppliers")
    search = page.locator("main form[role='search']")
    await search.locator("input[name='q']").fill("Präzision")
    await search.get_by_role("button", name="Search").click()
    await page.wait_for_url(re.compile(r"/suppliers\?q=Pr"))
    rows = page.locator("main table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Müller Präzisionstechnik GmbH")
    await expect(page.locator("main")).to_contain_text("1 in total")

    # its detail page
    await rows.first.get_by_role("link").click()
    await page.wait_for_url(re.compile(r"/suppliers/[0-9a-f-]{36}$"))
    detail_url = page.url
    await expect(page.locator("main h1")).to_contain_text("Müller Präzisionstechnik GmbH")
    await expect(page.locator("main table").first).to_contain_text("vertrieb@mueller-praezision.test")

    # add a portal user: first with an e-mail the browser accepts but the server does not
    form = page.locator("#add-portal-user")
    await form.locator("input[name='email']").fill("anna@localhost")
    await form.locator("input[name='full_name']").fill("Anna Keller")
    await expect(form.locator("input[name='password']")).to_have_count(0)  # she chooses her own, by e-mail
    async with page.expect_navigation() as rejected:
        await form.get_by_role("button", name="Add user").click()
    assert (await rejected.value).status == 400
    await expect(page.locator("#add-portal-user #e-email")).to_have_text("Enter a valid e-mail address.")
    await expect(page.locator("#add-portal-user input[name='email']")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#add-portal-user input[name='full_name']")).to_have_value("Anna Keller")
    await expect(page.locator("main h1")).to_contain_text("Müller Präzisionstechnik GmbH")  # still the detail page
    await _shot(opened, screenshots, "supplier-detail-field-error")

    # then a valid one: back on the detail page, listed among the portal users
    email = f"anna.keller.{secrets.token_hex(3)}@mueller-praezision.test"
    await form.locator("input[name='email']").fill(email)
    async with page.expect_navigation() as added:
        await form.get_by_role("button", name="Add user").click()
    assert (await added.value).ok
    assert page.url == detail_url
    await expect(page.locator("main table").nth(1)).to_contain_text(email)
    await expect(page.locator("#add-portal-user .error")).to_have_count(0)

    # a new supplier: an invalid country first, and nothing is created
    await page.locator("main").get_by_role("link", name="Suppliers").click()
    await page.wait_for_url(f"{base}/suppliers")
    await page.locator("main").get_by_role("button", name="New supplier").click()
    await page.wait_for_url(f"{base}/suppliers/new")
    await expect(page.locator("main h1")).to_have_text("New supplier")
    party_form = page.locator("#party-form")
    await expect(party_form.locator("input[name='currency']")).to_have_value("USD")  # the tenant's currency
    name = f"Browser Test Supplier {secrets.token_hex(3)}"
    await party_form.locator("input[name='name']").fill(name)
    await party_form.locator("input[name='country']").fill("XX")
    await party_form.locator("input[name='currency']").fill("EUR")
    await party_form.locator("input[name='email']").fill("sales@browser-test.test")
    async with page.expect_navigation() as rejected:
        await party_form.get_by_role("button", name="Create").click()
    assert (await rejected.value).status == 400
    await expect(page.locator("#party-form #e-country")).to_have_text("Choose a country (two-letter ISO code).")
    await expect(page.locator("#party-form input[name='country']")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#party-form input[name='name']")).to_have_value(name)
    await expect(page.locator("#party-form .error")).to_have_count(1)  # only the country is wrong
    assert await _suppliers_named(db, demo, name) == 0
    await _shot(opened, screenshots, "supplier-new-field-error")

    # then valid: the supplier's own page
    await party_form.locator("input[name='country']").fill("DE")
    async with page.expect_navigation() as created:
        await party_form.get_by_role("button", name="Create").click()
    assert (await created.value).ok
    await page.wait_for_url(re.compile(r"/suppliers/[0-9a-f-]{36}$"))
    await expect(page.locator("main h1")).to_contain_text(name)
    await expect(page.locator("main")).to_contain_text("No portal users yet.")
    assert await _suppliers_named(db, demo, name) == 1

    # and in the list
    await page.goto(f"{base}/suppliers")
    await expect(page.locator("main table tbody")).to_contain_text(name)
    await _shot(opened, screenshots, "suppliers-list")


# --- 3. the language switch -----------------------------------------------------------------------


async def test_switch_to_chinese(new_page: NewPage, live_server: LiveServer, screenshots: Path) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    await log_in(opened, base, "admin@acme.test", lands=f"{base}/")
    await page.goto(f"{base}/suppliers")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await page.locator("header form[action='/lang']").get_by_role("button", name="简体中文").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert page.url == f"{base}/suppliers"  # back where we were
    # the switch now offers the way back
    await expect(page.locator("header form[action='/lang']").get_by_role("button", name="English")).to_be_visible()

    zh = _zh_translations("Suppliers", "Log out", "Search")
    if "Suppliers" in zh:
        await expect(page.locator("main h1")).to_have_text(zh["Suppliers"])
        await expect(page.locator("header nav").get_by_role("link", name=zh["Suppliers"], exact=True)).to_be_visible()
    if "Log out" in zh:
        await expect(page.locator("header form[action='/logout'] button")).to_have_text(zh["Log out"])
    if "Search" in zh:
        await expect(page.locator("main form[role='search'] button")).to_have_text(zh["Search"])
    await _shot(opened, screenshots, "staff-suppliers-zh")

    # the choice sticks: another page is Chinese too
    await page.goto(f"{base}/")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


# --- 4. the apex: log in once, choose a workspace ----------------------------------------------------


async def test_apex_login_and_workspace_chooser(new_page: NewPage, live_server: LiveServer, screenshots: Path) -> None:
    opened = await new_page()
    page = opened.page
    await log_in(opened, live_server.apex, "supplier@acme.test", lands=f"{live_server.apex}/workspaces")
    await expect(page.locator("main h1")).to_have_text("Your workspaces")
    acme = page.locator("main table tbody tr", has_text="Acme Manufacturing")
    await expect(acme).to_have_count(1)
    await expect(acme).to_contain_text("Supplier")
    await _shot(opened, screenshots, "apex-workspaces")

    tickets: list[str] = []
    page.on("request", lambda request: tickets.append(request.url) if "/auth/ticket" in request.url else None)
    await acme.get_by_role("button", name="Open").click()
    await page.wait_for_url(f"{live_server.workspace('acme')}/supplier")
    await expect(page.locator("main h1")).to_have_text("Supplier portal")
    await expect(page.locator("header .who")).to_have_attribute("title", "supplier@acme.test")
    await _shot(opened, screenshots, "apex-to-supplier-portal")

    # the ticket was good for one use only: replayed in another browser it signs nobody in
    assert len(tickets) == 1
    assert tickets[0].startswith(f"{live_server.workspace('acme')}/auth/ticket?token=")
    other = await new_page()
    replay = await other.page.goto(tickets[0])
    assert replay is not None
    assert replay.status == 400
    await expect(other.page.locator("#login-error")).to_contain_text("expired")
    await expect(other.page.locator("header .who")).to_have_count(0)


# --- 5. the wrong audience, and logging out -------------------------------------------------------


async def test_supplier_on_staff_page_gets_404_then_logs_out(
    new_page: NewPage, live_server: LiveServer, screenshots: Path
) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    await log_in(opened, base, "supplier@acme.test", lands=f"{base}/supplier")

    response = await page.goto(f"{base}/suppliers")
    assert response is not None
    assert response.status == 404
    await expect(page.locator("main article.error-page h1")).to_have_text("Page not found")
    await expect(page.locator("main article.error-page a")).to_have_attribute("href", "/supplier")
    # in the portal's own frame: the supplier's menu and name, not a bare error
    await expect(page.locator("header nav").get_by_role("link", name="Home")).to_have_attribute("href", "/supplier")
    await expect(page.locator("header .who")).to_have_attribute("title", "supplier@acme.test")
    await _shot(opened, screenshots, "supplier-404")

    await page.locator("header form[action='/logout']").get_by_role("button", name="Log out").click()
    await page.wait_for_url(f"{base}/login")
    await expect(page.locator("header .who")).to_have_count(0)
    await expect(page.locator("main h1")).to_have_text("Log in")
    # the session is gone: the portal sends us back to the login page
    await page.goto(f"{base}/supplier")
    await page.wait_for_url(f"{base}/login?next=%2Fsupplier")
    await _shot(opened, screenshots, "logged-out-login")


async def test_start_page_link_leads_a_supplier_home(new_page: NewPage, live_server: LiveServer) -> None:
    opened = await new_page()
    page = opened.page
    base = live_server.workspace("acme")
    await log_in(opened, base, "supplier@acme.test", lands=f"{base}/supplier")
    await page.goto(f"{base}/suppliers")
    async with page.expect_navigation() as followed:
        await page.locator("main article.error-page a").click()
    assert (await followed.value).status == 200
    assert page.url == f"{base}/supplier"
