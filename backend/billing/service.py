"""The billing rules: taking Stripe's word about a workspace's subscription, Checkout for a new
one, and the owner's changes (plan, interval, cancellation). (Signing a company up is
backend/signup's.)

Stripe is the source of truth for the subscription. Whatever event arrives, the worker locks the
tenant, asks Stripe for the customer's current subscription and makes the tenant match it
(`apply_subscription`), so duplicates and any order of events end in the same state, and side
effects (e-mails, audit events) happen only on a real change of state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

import stripe
from sqlalchemy import any_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.auth.steps import elevated_step
from backend.authz.roles import StaffRole
from backend.billing.gateway import StripeGateway, Subscription
from backend.jobs.outbox import enqueue
from backend.kit.errors import DomainError
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.models import Identity, Membership, MembershipKind, StripeEvent, Tenant, TenantStatus
from backend.settings import Settings
from tenants.billing.access import LIVE, Access, SubscriptionStatus, access_for
from tenants.billing.entitlements import usage
from tenants.billing.plans import PLANS, Interval, Limit, Plan, plan_of
from tenants.context import TenantContext
from tenants.isolation import Database, allow_lookup, context_of

log = logging.getLogger("merkato.billing")

NOTIFY = "billing.notify"
GRACE_OVER = "billing.grace_over"
APPLY_STRIPE_EVENT = "billing.apply_stripe_event"


# One SDK client per event loop and configuration: its connection pool is reused across requests,
# and an async pool must never be shared between loops (worker threads each run their own).
_GATEWAYS: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Settings, StripeGateway]] = WeakKeyDictionary()


def gateway(settings: Settings) -> StripeGateway:
    per_loop = _GATEWAYS.setdefault(asyncio.get_running_loop(), {})
    if settings not in per_loop:
        per_loop[settings] = StripeGateway(settings)
    return per_loop[settings]


# --- Stripe's word on the subscription ----------------------------------------------------------


async def lock_tenant(session: AsyncSession) -> Tenant:
    """The context's tenant, locked until commit: one subscription change at a time per tenant,
    so two workers with events of one tenant cannot both act on the same change."""
    tenant = await session.scalar(select(Tenant).where(Tenant.id == context_of(session).tenant_id).with_for_update())
    assert tenant is not None
    return tenant


_AUDITED = ("status", "plan", "billing_interval", "subscription_status", "cancel_at_period_end")


def _snapshot(tenant: Tenant) -> dict[str, Any]:
    return {field: getattr(tenant, field) for field in _AUDITED}


async def apply_subscription(
    session: AsyncSession, tenant: Tenant, subscription: Subscription | None, *, settings: Settings, now: datetime
) -> bool:
    """Make the (locked) tenant match the subscription; True if anything a person cares about
    changed. Notices go out on a change of state only, so duplicated events send nothing twice."""
    if subscription is None:
        return False
    before = _snapshot(tenant)
    old_access = access_for(tenant.subscription_status, tenant.past_due_since, now=now, grace=settings.billing_grace)
    old_status = tenant.subscription_status
    tenant.stripe_subscription_id = subscription.id
    tenant.subscription_status = subscription.status
    if (found := subscription.plan) is not None:
        plan, interval = found
        tenant.plan, tenant.billing_interval = plan.code, interval.value
    else:
        log.error("tenant %s: subscription %s has a price we do not sell", tenant.id, subscription.id)
    tenant.trial_end = subscription.trial_end
    tenant.current_period_end = subscription.current_period_end
    tenant.cancel_at_period_end = subscription.cancel_at_period_end
    if subscription.status == SubscriptionStatus.PAST_DUE:
        tenant.past_due_since = tenant.past_due_since or now
    else:
        tenant.past_due_since = None
    if tenant.status == TenantStatus.PENDING and subscription.status in LIVE:
        tenant.status = TenantStatus.ACTIVE
    if subscription.status not in SubscriptionStatus.__members__.values():
        log.error("tenant %s: unknown subscription status %r, read-only", tenant.id, subscription.status)
    await session.flush()

    new_access = access_for(tenant.subscription_status, tenant.past_due_since, now=now, grace=settings.billing_grace)
    # a transition happens once (the tenant is locked): its notices are keyed by when it happened
    episode = f"{tenant.id}:{subscription.id}:{int(now.timestamp() * 1_000_000)}"
    if subscription.status == SubscriptionStatus.PAST_DUE and old_status != SubscriptionStatus.PAST_DUE:
        await enqueue(session, NOTIFY, key=f"billing:payment_failed:{episode}", notice="payment_failed")
        assert tenant.past_due_since is not None
        await enqueue(
            session,
            GRACE_OVER,
            run_at=tenant.past_due_since + settings.billing_grace,
            key=f"billing:grace_over:{episode}",
            past_due_since=tenant.past_due_since,
        )
    if new_access == Access.READ_ONLY and old_access != Access.READ_ONLY:
        await enqueue(session, NOTIFY, key=f"billing:read_only:{episode}:{subscription.status}", notice="read_only")
    elif new_access != Access.READ_ONLY and old_access == Access.READ_ONLY:
        await enqueue(session, NOTIFY, key=f"billing:restored:{episode}", notice="restored")

    after = _snapshot(tenant)
    if after == before:
        return False
    changed = {field for field in _AUDITED if before[field] != after[field]}
    await record(
        session,
        "billing.subscription_changed",
        "tenant",
        tenant.id,
        before={field: before[field] for field in sorted(changed)},
        after={field: after[field] for field in sorted(changed)},
    )
    return True


def trial_notice_key(tenant: Tenant, subscription: Subscription) -> str:
    trial_end = int(subscription.trial_end.timestamp()) if subscription.trial_end else 0
    return f"billing:trial_ending:{tenant.id}:{subscription.id}:{trial_end}"


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- the webhook inbox --------------------------------------------------------------------------


class BadWebhook(ValueError):
    """Not a genuine, fresh Stripe event: answered 400, nothing written."""


def verified_event(body: bytes, signature: str, settings: Settings) -> dict[str, Any]:
    """The event if the signature over the raw body is Stripe's, made with our endpoint secret,
    less than five minutes ago (the SDK's check: no replays of old deliveries)."""
    if not settings.stripe_webhook_secret:
        raise BadWebhook("no STRIPE_WEBHOOK_SECRET configured")
    try:
        # within five minutes of Stripe's timestamp: an old delivery replayed is refused
        stripe.WebhookSignature.verify_header(
            body.decode("utf-8"), signature, settings.stripe_webhook_secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE
        )
        # the body as sent: the SDK's Event object would cost more and hold Decimals JSONB cannot
        data = json.loads(body)
    # UnicodeDecodeError is a ValueError; TypeError: the SDK's comparison refuses non-ASCII text
    except (ValueError, TypeError, stripe.SignatureVerificationError) as error:
        raise BadWebhook(str(error)) from error
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise BadWebhook("not an event")
    return data


def customer_of(event: dict[str, Any]) -> str | None:
    """Every event we handle is about a customer's subscription: its object names the customer
    (or is the customer)."""
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") == "customer":
        return obj.get("id")
    customer = obj.get("customer")
    return customer if isinstance(customer, str) else None


async def tenant_of_customer(session: AsyncSession, customer_id: str) -> UUID | None:
    await allow_lookup(session, customer=customer_id)  # RLS shows no other tenant
    found: UUID | None = await session.scalar(select(Tenant.id).where(Tenant.stripe_customer_id == customer_id))
    return found


async def store_event(session: AsyncSession, event: dict[str, Any]) -> bool:
    """Into the inbox (in the tenant's system context), with the job that applies it; False if
    Stripe sent it before (a retry or a duplicate): then nothing is written."""
    tenant_id = context_of(session).tenant_id
    inserted = await session.scalar(
        insert(StripeEvent)
        .values(tenant_id=tenant_id, id=new_id(), event_id=event["id"], type=event.get("type") or "", payload=event)
        .on_conflict_do_nothing(index_elements=[StripeEvent.tenant_id, StripeEvent.event_id])
        .returning(StripeEvent.id)
    )
    if inserted is None:
        return False
    await enqueue(session, APPLY_STRIPE_EVENT, key=f"stripe-event:{event['id']}", event_id=event["id"])
    return True


# --- the owner's changes --------------------------------------------------------------------------
# Each runs in two short transactions around the call to Stripe, never holding one open while
# waiting for it: read the tenant (and the version for the idempotency key), ask Stripe, then
# apply Stripe's answer at once, so the owner sees the result without waiting for the webhook.


class BillingRefused(DomainError):
    """The change cannot be made (the message says why, 400); nothing was asked of Stripe."""


async def _subscribed(db: Database, context: TenantContext, settings: Settings) -> tuple[Tenant, Subscription]:
    async with db.transaction(context) as session:
        tenant = await session.get(Tenant, context.tenant_id)
        assert tenant is not None
        session.expunge(tenant)
    current = None
    if tenant.stripe_customer_id:
        current = await gateway(settings).current_subscription(tenant.stripe_customer_id)
    if current is None or current.status not in LIVE:
        raise BillingRefused(_("This workspace has no running subscription to change."))
    return tenant, current


async def _apply_answer(
    db: Database, context: TenantContext, settings: Settings, version: int, answer: Subscription, action: str
) -> None:
    async with db.transaction(context) as session:
        tenant = await lock_tenant(session)
        tenant.billing_version = max(tenant.billing_version, version + 1)
        await record(session, action, "tenant", tenant.id, after={"plan": tenant.plan})
        await apply_subscription(session, tenant, answer, settings=settings, now=now_utc())


async def over_limits(session: AsyncSession, plan: Plan) -> list[str]:
    """Why the workspace does not fit in a smaller plan (one message per limit), or []."""
    problems = []
    for limit in Limit:
        allowed = plan.limit(limit)
        if allowed is not None and (used := await usage(session, limit)) > allowed:
            problems.append(
                _("You use %(used)d of “%(what)s”; the %(plan)s plan includes %(allowed)d.")
                % {"used": used, "what": limit.label, "plan": plan.name, "allowed": allowed}
            )
    return problems


async def change_plan(
    db: Database, context: TenantContext, settings: Settings, plan_code: str, interval_value: str
) -> None:
    plan = PLANS.get(plan_code)
    if plan is None or interval_value not in Interval.__members__.values():
        raise BillingRefused(_("Choose a plan and monthly or yearly billing."))
    interval = Interval(interval_value)
    async with db.transaction(context) as session:
        if problems := await over_limits(session, plan):
            raise BillingRefused(" ".join(problems))
    tenant, current = await _subscribed(db, context, settings)
    if current.plan == (plan, interval):
        return
    answer = await gateway(settings).change_plan(tenant.id, tenant.billing_version, current, plan, interval)
    await _apply_answer(db, context, settings, tenant.billing_version, answer, "billing.plan_change_requested")


async def set_cancellation(db: Database, context: TenantContext, settings: Settings, *, cancel: bool) -> None:
    """Cancel at the end of the paid period (cancel=True), or take that back."""
    tenant, current = await _subscribed(db, context, settings)
    if current.cancel_at_period_end == cancel:
        return
    answer = await gateway(settings).cancel_at_period_end(tenant.id, tenant.billing_version, current, cancel=cancel)
    action = "billing.cancellation_requested" if cancel else "billing.cancellation_withdrawn"
    await _apply_answer(db, context, settings, tenant.billing_version, answer, action)


async def portal_url(db: Database, context: TenantContext, settings: Settings, *, return_url: str, key: str) -> str:
    """A Stripe Billing Portal session (payment methods, invoices) that returns to `return_url`."""
    async with db.transaction(context) as session:
        tenant = await session.get(Tenant, context.tenant_id)
        assert tenant is not None
        customer = tenant.stripe_customer_id
    if not customer:
        raise BillingRefused(_("This workspace has no subscription yet."))
    return await gateway(settings).portal_url(customer, return_url=return_url, key=f"portal:{tenant.id}:{key}")


async def checkout_url(db: Database, settings: Settings, tenant_id: UUID, *, success_url: str, cancel_url: str) -> str:
    """Stripe Checkout for a pending workspace's plan: its customer is made first (once), then a
    session per attempt; the customer id is kept so the webhooks can find the workspace."""
    # an elevated step: whoever signed up may not be logged in yet; no connection is held while
    # Stripe answers, so the customer is kept in a second short transaction
    async with elevated_step(db, tenant_id) as session:
        tenant = await session.get(Tenant, tenant_id)
        if tenant is None or tenant.status != TenantStatus.PENDING:
            raise BillingRefused(_("This workspace is not waiting for a subscription."))
        owner = await session.scalar(
            select(Identity)
            .join(Membership, Membership.identity_id == Identity.id)
            .where(Membership.kind == MembershipKind.STAFF, any_(Membership.roles) == StaffRole.OWNER.value)
            .order_by(Membership.created_at)
            .limit(1)
        )
        assert owner is not None
        attempt, customer, name, email = tenant.billing_version, tenant.stripe_customer_id, tenant.name, owner.email
        plan, interval = plan_of(tenant.plan), Interval(tenant.billing_interval or Interval.MONTH)
    stripe_gateway = gateway(settings)
    customer = customer or await stripe_gateway.create_customer(tenant_id, name=name, email=email)
    url = await stripe_gateway.checkout_url(
        tenant_id, customer, plan, interval, success_url=success_url, cancel_url=cancel_url, attempt=attempt
    )
    async with elevated_step(db, tenant_id) as session:
        tenant = await lock_tenant(session)
        tenant.stripe_customer_id = customer
        tenant.billing_version = max(tenant.billing_version, attempt + 1)
    return url
