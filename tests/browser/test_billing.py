"""Signup and billing in a real browser against the project's fake Stripe: pricing → signup →
Checkout → "setting up" → the staff app; then the fake's clock moves into a failed renewal (the
banner), on into an unpaid subscription (read-only), and paying through the portal restores it.

The fake Stripe runs in this process; its webhooks go to the live server, whose embedded worker
applies them, as in production.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from backend.billing.gateway import StripeGateway
from backend.dev.demo import DemoData
from backend.dev.fake_stripe.server import RunningFakeStripe, start_in_thread
from backend.models import OutgoingMail, Tenant
from backend.settings import load_settings
from tenants.context import NO_CONTEXT, TenantContext
from tenants.isolation import Database, allow_lookup
from tests.browser.conftest import LiveServer, NewPage, running_server
from tests.fixtures.mail import delivered_link
from tests.fixtures.services import free_port

SECRET = "whsec_browser_billing"
DAY = 86_400
# the page reads the tenant through a directory cached for 10 s per process
CACHE_WAIT_MS = 25_000
MAIL_WAIT_SECONDS = 30  # the live server's own worker delivers the owner's link


@pytest.fixture(scope="module")
def fake_stripe() -> AsyncIterator[RunningFakeStripe]:
    with start_in_thread() as fake:
        yield fake


@pytest.fixture(scope="module")
async def live_server(
    owner_url: str,
    demo: DemoData,
    tmp_path_factory: pytest.TempPathFactory,
    chromium_path: str,
    fake_stripe: RunningFakeStripe,
) -> AsyncIterator[LiveServer]:
    """The live server with billing on, talking to the fake Stripe, which sends it webhooks."""
    port = free_port()
    fake_stripe.state.add_endpoint(f"http://127.0.0.1:{port}/webhooks/stripe", SECRET)
    env = {"STRIPE_SECRET_KEY": "sk_test_browser", "STRIPE_API_BASE": fake_stripe.url, "STRIPE_WEBHOOK_SECRET": SECRET}
    await StripeGateway(load_settings({**env, "MERKATO_DATA_DIR": str(tmp_path_factory.mktemp("d"))})).sync_prices()
    with running_server(owner_url, tmp_path_factory.mktemp("billing-server"), {**env, "PORT": str(port)}) as server:
        yield server


async def _tenant(db: Database, slug: str) -> Tenant:
    async with db.transaction(NO_CONTEXT) as session:
        await allow_lookup(session, slug=slug)  # a tenant is visible to the lookup of its slug
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert tenant is not None
        session.expunge(tenant)
        return tenant


async def test_signup_pay_fail_read_only_and_restore(
    new_page: NewPage, live_server: LiveServer, fake_stripe: RunningFakeStripe, db: Database, screenshots: Path
) -> None:
    slug = f"shop-{secrets.token_hex(3)}"
    email = f"owner-{slug}@example.test"
    opened = await new_page()
    page = opened.page

    # pricing → signup
    await page.goto(f"{live_server.apex}/pricing")
    await page.click("#interval-year")
    await expect(page.locator("#plan-growth")).to_contain_text("1,990")
    await page.click("#interval-month")
    await page.screenshot(path=str(screenshots / "billing-pricing.png"), full_page=True)
    await page.click("#choose-growth")
    await page.fill("#f-company", "Shop & Co.")
    await page.fill("#f-slug", "acme")
    await expect(page.locator("#slug-check")).to_contain_text("already taken")
    await page.fill("#f-slug", slug)
    await expect(page.locator("#slug-check")).to_contain_text("is available")
    await page.fill("#f-full_name", "Olive Owner")
    await page.fill("#f-email", email)
    await page.screenshot(path=str(screenshots / "billing-signup.png"), full_page=True)
    await page.click("#signup-submit")

    # the owner's address proves itself: the e-mailed link, where the owner chooses a password
    await expect(page.locator("#account-message")).to_contain_text("Check your e-mail")
    link = await delivered_link(email, data_dir=live_server.data_dir, wait_seconds=MAIL_WAIT_SECONDS)
    await page.goto(f"{live_server.apex}{link}")
    await page.fill("#f-password", "a-long-enough-password")
    await page.fill("#f-confirm", "a-long-enough-password")
    await page.screenshot(path=str(screenshots / "billing-signup-confirm.png"), full_page=True)
    await page.click("#signup-confirm-form button[type=submit]")

    # the fake Checkout: a card that pays now (the trial) and is declined at the first renewal
    await expect(page.locator("#pay")).to_be_visible()
    assert page.url.startswith(fake_stripe.url)
    tenant = await _tenant(db, slug)
    assert tenant.status == "pending"
    assert tenant.stripe_customer_id
    await page.check("#card_fails")
    await page.click("#pay")

    # setting up → the staff app, once the webhook has activated the workspace
    await page.wait_for_url(f"{live_server.workspace(slug)}/", timeout=CACHE_WAIT_MS)
    await expect(page.locator("#onboarding")).to_be_visible()
    await page.screenshot(path=str(screenshots / "billing-workspace-ready.png"), full_page=True)
    tenant = await _tenant(db, slug)
    assert (tenant.status, tenant.subscription_status, tenant.plan) == ("active", "trialing", "growth")

    await page.goto(f"{live_server.workspace(slug)}/admin/billing")
    await expect(page.locator("#subscription-status")).to_have_attribute("data-status", "trialing")
    await page.screenshot(path=str(screenshots / "billing-page.png"), full_page=True)

    # the trial ends, the renewal fails: past_due, full access with a banner for the owner
    await fake_stripe.advance_async(15 * DAY)
    await _reload_until(page, f"{live_server.workspace(slug)}/", "#workspace-notice[data-kind='past_due']")
    await page.screenshot(path=str(screenshots / "billing-past-due.png"), full_page=True)
    async with db.transaction(TenantContext.system(tenant.id)) as session:
        mails = list(await session.scalars(select(OutgoingMail.template).where(OutgoingMail.to_address == email)))
    assert "billing_payment_failed" in mails

    # every retry fails: unpaid, read-only; a change is refused
    await fake_stripe.advance_async(16 * DAY)
    await _reload_until(page, f"{live_server.workspace(slug)}/", "#workspace-notice[data-kind='read_only']")
    await _new_supplier(page, live_server.workspace(slug), "Refused Supplier Ltd")
    await expect(page.locator("main h1")).to_contain_text("Temporarily unavailable for changes")
    await page.screenshot(path=str(screenshots / "billing-read-only.png"), full_page=True)

    # paying through the billing portal restores it
    await page.goto(f"{live_server.workspace(slug)}/admin/billing")
    await page.click("#open-portal")
    await page.click("#fix_card")
    await page.wait_for_url(f"{live_server.workspace(slug)}/admin/billing")
    await _reload_until(page, f"{live_server.workspace(slug)}/", "#onboarding", gone="#workspace-notice")
    tenant = await _tenant(db, slug)
    assert tenant.subscription_status == "active"
    await _new_supplier(page, live_server.workspace(slug), "Accepted Supplier Ltd")
    await expect(page.locator("main h1")).to_contain_text("Accepted Supplier Ltd")
    opened.problems.assert_none()


async def _new_supplier(page: Page, workspace: str, name: str) -> None:
    await page.goto(f"{workspace}/suppliers/new")
    await page.fill("#f-name", name)
    await page.fill("#f-country", "DE")
    await page.fill("#f-currency", "EUR")
    await page.click("#party-form button[type=submit]")


async def _reload_until(page: Page, url: str, selector: str, *, gone: str | None = None) -> None:
    """Open `url` again until `selector` is there (and `gone` is not): the change arrives by
    webhook and the server's tenant cache."""
    deadline_ms, waited = CACHE_WAIT_MS, 0
    while True:
        await page.goto(url)
        present = await page.locator(selector).count()
        absent = gone is None or not await page.locator(gone).count()
        if present and absent:
            return
        if waited >= deadline_ms:
            raise AssertionError(f"{selector} never appeared on {url}")
        await page.wait_for_timeout(500)
        waited += 500
