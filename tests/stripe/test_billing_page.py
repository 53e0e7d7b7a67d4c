"""Signup and the owner's billing page, over HTTP, with billing on (the fake Stripe): every change
reaches Stripe with an idempotency key of our own, and the page shows Stripe's answer at once.
Self-hosted mode (no Stripe key) is at the end."""

from __future__ import annotations

import re
import secrets
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.app import create_app
from backend.dev.fake_stripe.server import RunningFakeStripe
from backend.models import Identity, Membership, StripeEvent, Tenant
from backend.settings import Settings, load_settings
from tenants.context import NO_CONTEXT, TenantContext
from tenants.isolation import Database, allow_lookup
from tenants.resolution import HostDispatcher
from tests.fixtures.accounts import send_mail, token_of
from tests.fixtures.mail import delivered_link
from tests.stripe.conftest import deliver_and_apply, fake_events
from tests.web.conftest import Browser, enter_from_apex

PASSWORD = "a-long-enough-password"


def _form(slug: str, **overrides: str) -> dict[str, str]:
    return {
        "plan": "growth",
        "interval": "month",
        "company": "Signup Test GmbH",
        "slug": slug,
        "full_name": "Sam Signup",
        "email": f"sam@{slug}.test",
        **overrides,
    }


async def _tenant(db: Database, slug: str) -> Tenant | None:
    async with db.transaction(NO_CONTEXT) as session:
        await allow_lookup(session, slug=slug)  # a tenant is visible to the lookup of its slug
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is not None:
            session.expunge(tenant)
        return tenant


async def _pay(location: str, *, card_fails: bool = False) -> str:
    async with httpx.AsyncClient() as client:
        paid = await client.post(f"{location}/pay", data={"card_fails": "on"} if card_fails else {})
    assert paid.status_code == 303
    return paid.headers["location"]


async def _signed_up_and_paid(
    billing_app: HostDispatcher, db: Database, fake: RunningFakeStripe, slug: str
) -> tuple[Browser, Browser, Tenant]:
    """A workspace through signup and Checkout, its webhooks applied; the owner's apex and
    workspace browsers."""
    apex = Browser(billing_app, "localhost")
    started = await _confirmed(apex, db, slug)
    assert started.status_code in (302, 303), started.text
    checkout = started.headers["location"]
    assert checkout.startswith(f"{fake.url}/checkout/cs_")
    pending = await _tenant(db, slug)
    assert pending is not None
    assert pending.status == "pending"
    assert pending.stripe_customer_id
    waiting = await apex.get(f"/signup/{pending.id}/ready")
    assert waiting.status_code == 200
    assert "setup-waiting" in waiting.text
    assert f'hx-get="/signup/{pending.id}/ready"' in waiting.text  # it polls itself
    assert "Signup Test GmbH" in waiting.text
    assert (await _pay(checkout)).startswith(f"http://localhost/signup/{pending.id}/ready?session_id=cs_")
    events = [e for e in await fake_events(fake) if e["data"]["object"].get("customer") == pending.stripe_customer_id]
    await deliver_and_apply(billing_app, db, events, [pending.id])
    tenant = await _tenant(db, slug)
    assert tenant is not None
    ready = await apex.get(f"/signup/{tenant.id}/ready")
    assert ready.headers["location"] == f"/signup/{tenant.id}/enter"
    entered = await apex.get(ready.headers["location"])
    assert entered.headers["location"] == f"http://{slug}.localhost/auth/enter"
    workspace = Browser(billing_app, f"{slug}.localhost")
    landed = await enter_from_apex(apex, workspace, slug)
    assert landed.headers["location"] == "/"
    return apex, workspace, tenant


async def _confirmed(apex: Browser, db: Database, slug: str, **overrides: str) -> httpx.Response:
    """Sign up anonymously, then follow the link mailed to the owner's address and choose the
    owner's password: the response to that (on to payment, or to the workspace being set up)."""
    form = _form(slug, **overrides)
    asked = await apex.post_form("/signup", form)
    assert asked.status_code == 200, asked.text
    assert "Check your e-mail" in asked.text
    pending = await _tenant(db, slug)
    assert pending is not None
    await send_mail(db, [pending.id])
    link = await delivered_link(form["email"])
    assert link.startswith("/signup/confirm?token=")
    page = await apex.get(link)
    assert 'name="password"' in page.text
    # a refused password shows the page again and keeps the link good for the next try
    mismatch = await apex.post_form("/signup/confirm", {"token": token_of(link), "password": PASSWORD, "confirm": "x"})
    assert mismatch.status_code == 400
    assert 'name="password"' in mismatch.text
    return await apex.post_form("/signup/confirm", {"token": token_of(link), "password": PASSWORD, "confirm": PASSWORD})


async def test_signup_checkout_and_the_owners_billing_page(
    billing_app: HostDispatcher, db: Database, fake_stripe: RunningFakeStripe, stripe_settings: Settings
) -> None:
    slug = f"bp-{secrets.token_hex(3)}"
    _apex, owner, tenant = await _signed_up_and_paid(billing_app, db, fake_stripe, slug)
    assert (tenant.status, tenant.subscription_status, tenant.plan, tenant.billing_interval) == (
        "active",
        "trialing",
        "growth",
        "month",
    )
    home = await owner.get("/")
    assert 'id="onboarding"' in home.text
    page = await owner.get("/admin/billing")
    assert page.status_code == 200
    assert 'data-status="trialing"' in page.text
    assert 'id="next-invoice"' in page.text
    assert "$199.00" in page.text  # the next invoice: Growth, monthly
    assert re.search(r'href="http://127\.0\.0\.1:\d+/invoices/in_\w+/pdf"', page.text), "invoice PDF links"

    # to Enterprise, yearly: Stripe's answer is on the page at once, with our idempotency key
    changed = await owner.post_form("/admin/billing/plan", {"plan": "enterprise", "interval": "year"})
    assert changed.status_code == 200, changed.text
    assert 'id="billing-notice"' in changed.text
    after = await _tenant(db, slug)
    assert after is not None
    assert (after.plan, after.billing_interval, after.billing_version) == (
        "enterprise",
        "year",
        tenant.billing_version + 1,
    )
    keys = [
        e["request"]["idempotency_key"]
        for e in await fake_events(fake_stripe)
        if e["type"] == "customer.subscription.updated"
    ]
    assert f"plan:{tenant.id}:{tenant.billing_version}" in keys

    # cancel at the period's end, and take it back
    cancelled = await owner.post_form("/admin/billing/cancel")
    assert 'id="cancel-notice"' in cancelled.text
    assert (await _tenant(db, slug)).cancel_at_period_end  # type: ignore[union-attr]
    resumed = await owner.post_form("/admin/billing/resume")
    assert 'id="cancel-notice"' not in resumed.text
    assert not (await _tenant(db, slug)).cancel_at_period_end  # type: ignore[union-attr]

    # the billing portal: a redirect to Stripe that comes back to this page
    portal = await owner.post_form("/admin/billing/portal")
    assert portal.status_code in (302, 303)
    assert portal.headers["location"].startswith(f"{fake_stripe.url}/portal/bps_")

    # a bad plan is refused with a message, and nothing is asked of Stripe
    events_before = len(await fake_events(fake_stripe))
    refused = await owner.post_form("/admin/billing/plan", {"plan": "platinum", "interval": "month"})
    assert refused.status_code == 400
    assert 'id="billing-error"' in refused.text
    assert len(await fake_events(fake_stripe)) == events_before


async def test_a_downgrade_that_does_not_fit_is_refused(
    billing_app: HostDispatcher, db: Database, fake_stripe: RunningFakeStripe
) -> None:
    slug = f"dg-{secrets.token_hex(3)}"
    _apex, owner, _tenant_row = await _signed_up_and_paid(billing_app, db, fake_stripe, slug)
    for n in range(5):  # six staff: more than Starter's five seats
        added = await owner.post_form(
            "/admin/users", {"email": f"s{n}@{slug}.test", "full_name": f"Staff {n}", "roles": ["viewer"]}
        )
        assert added.status_code in (302, 303), added.text
    events_before = len(await fake_events(fake_stripe))
    refused = await owner.post_form("/admin/billing/plan", {"plan": "starter", "interval": "month"})
    assert refused.status_code == 400
    assert "You use 6 of" in refused.text
    assert (await _tenant(db, slug)).plan == "growth"  # type: ignore[union-attr]
    assert len(await fake_events(fake_stripe)) == events_before


async def test_signup_form_says_what_is_wrong_and_writes_nothing(
    billing_app: HostDispatcher, db: Database, demo: Any, owner_engine: AsyncEngine
) -> None:
    apex = Browser(billing_app, "localhost")
    cases = {
        "acme": "already taken",
        "admin": "reserved",
        "-bad-": "lower-case letters",
    }
    for slug, message in cases.items():
        refused = await apex.post_form("/signup", _form(slug))
        assert refused.status_code == 400
        assert message in refused.text
    missing = await apex.post_form("/signup", _form(f"ok-{secrets.token_hex(3)}", email="not-an-address"))
    assert missing.status_code == 400
    assert 'id="e-email"' in missing.text
    live = await apex.get("/signup/slug", params={"slug": "acme"})
    assert "already taken" in live.text
    free = await apex.get("/signup/slug", params={"slug": f"free-{secrets.token_hex(3)}"})
    assert "is available" in free.text
    async with AsyncSession(owner_engine) as session:  # every tenant: the owner sees past RLS
        assert not await session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.name == "Signup Test GmbH", Tenant.slug.like("ok-%"))
        )


async def test_signup_answers_alike_whether_the_owner_has_a_login(
    billing_app: HostDispatcher, db: Database, demo: Any
) -> None:
    """The form asks no password and says nothing about the address; the e-mail's link lets a
    new owner choose a password, and asks one with a Merkato login to log in with it."""
    answers = {}
    for email in (f"new-{secrets.token_hex(3)}@example.test", "admin@acme.test"):
        slug = f"al-{secrets.token_hex(3)}"
        answer = await Browser(billing_app, "localhost").post_form("/signup", _form(slug, email=email))
        assert answer.status_code == 200
        main = answer.text.split("<main")[1].split("</main>")[0]
        answers[email] = (slug, main.replace(email, "X").replace(slug, "S"))
        tenant = await _tenant(db, slug)
        assert tenant is not None
        await send_mail(db, [tenant.id])
    assert len({text for _slug, text in answers.values()}) == 1
    page = await Browser(billing_app, "localhost").get(await delivered_link("admin@acme.test"))
    assert 'name="password"' not in page.text
    assert 'id="signup-login"' in page.text
    # and that login's password is untouched
    assert (await Browser(billing_app, "acme.localhost").login("admin@acme.test")).headers["location"] == "/"


async def test_an_event_for_a_customer_we_do_not_know_is_ignored(billing_app: HostDispatcher, db: Database) -> None:
    from tests.stripe.conftest import deliver

    event = {
        "id": f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "type": "customer.subscription.updated",
        "data": {"object": {"object": "subscription", "id": "sub_x", "customer": "cus_nobody"}},
    }
    assert await deliver(billing_app, [event]) == [202]
    async with db.transaction(TenantContext.system(None)) as session:
        assert not await session.scalar(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.event_id == event["id"])
        )


@pytest.fixture(scope="module")
def self_hosted_app(db: Database, tmp_path_factory: pytest.TempPathFactory) -> HostDispatcher:
    settings = load_settings(
        {
            "MERKATO_ENV": "test",
            "MERKATO_SECRET_KEY": "self-hosted-secret-key-with-enough-entropy-0123456789",
            "MERKATO_DATA_DIR": str(tmp_path_factory.mktemp("self-hosted")),
        }
    )
    return create_app(settings, database=db)


async def test_self_hosted_signup_is_active_at_once_on_the_default_plan(
    self_hosted_app: HostDispatcher, db: Database
) -> None:
    slug = f"sh-{secrets.token_hex(3)}"
    apex = Browser(self_hosted_app, "localhost")
    pricing = await apex.get("/pricing")
    assert 'id="billing-off"' in pricing.text
    created = await _confirmed(apex, db, slug, plan="enterprise")
    tenant = await _tenant(db, slug)
    assert tenant is not None
    assert created.headers["location"] == f"/signup/{tenant.id}/ready"
    assert (tenant.status, tenant.plan, tenant.subscription_status, tenant.stripe_customer_id) == (
        "active",
        "growth",
        None,
        None,
    )
    owner = Browser(self_hosted_app, f"{slug}.localhost")
    assert (await enter_from_apex(apex, owner, slug)).headers["location"] == "/"
    billing = await owner.get("/admin/billing")
    assert 'id="billing-off"' in billing.text
    async with db.transaction(TenantContext.system(tenant.id)) as session:
        owner_roles = await session.scalar(
            select(Membership.roles)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Identity.email == f"sam@{slug}.test")
        )
    assert owner_roles == ["owner"]
    # another person's workspace set-up page does not exist for them
    stranger = Browser(self_hosted_app, "localhost")
    await _confirmed(stranger, db, f"sh-{secrets.token_hex(3)}", email=f"other-{slug}@x.test")
    assert (await stranger.get(f"/signup/{tenant.id}/ready")).status_code == 404
    assert isinstance(tenant.id, UUID)


async def test_a_logged_in_person_adds_a_workspace_to_their_login(
    self_hosted_app: HostDispatcher, db: Database, demo: Any, owner_engine: AsyncEngine
) -> None:
    """No second login: the apex user's identity becomes the new workspace's owner."""
    slug = f"own-{secrets.token_hex(3)}"
    apex = Browser(self_hosted_app, "localhost")
    assert (await apex.login("buyer@globex.test")).headers["location"] == "/workspaces"
    form = await apex.get("/signup")
    assert 'id="signed-in-as"' in form.text
    assert 'name="password"' not in form.text
    created = await apex.post_form(
        "/signup", {"plan": "growth", "interval": "month", "company": "Own Co", "slug": slug}
    )
    tenant = await _tenant(db, slug)
    assert tenant is not None
    assert created.headers["location"] == f"/signup/{tenant.id}/ready"
    async with AsyncSession(owner_engine) as session:
        identities = await session.scalar(
            select(func.count()).select_from(Identity).where(Identity.email == "buyer@globex.test")
        )
    assert identities == 1
    async with db.transaction(TenantContext.system(tenant.id)) as session:
        roles = await session.scalar(
            select(Membership.roles)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Identity.email == "buyer@globex.test")
        )
    assert roles == ["owner"]
    chooser = await apex.get("/workspaces")
    assert slug in chooser.text
