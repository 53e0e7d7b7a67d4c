"""Billing jobs: applying a Stripe event from the inbox, telling owners about their
subscription, and the end of a payment's grace period (a durable timer)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import any_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.billing.service import (
    APPLY_STRIPE_EVENT,
    GRACE_OVER,
    NOTIFY,
    apply_subscription,
    gateway,
    lock_tenant,
    now_utc,
    trial_notice_key,
)
from backend.jobs.outbox import enqueue
from backend.jobs.registry import job
from backend.models import Identity, Membership, MembershipKind, StripeEvent
from backend.notifications.service import queue_mail, recipient_locale
from backend.settings import get_settings
from tenants.billing.access import SubscriptionStatus
from tenants.billing.entitlements import UPGRADE_PATH
from tenants.billing.plans import plan_of
from tenants.resolution import workspace_origin

TRIAL_WILL_END = "customer.subscription.trial_will_end"

# who hears about what: the owner always; administrators too when the workspace is at risk
_AUDIENCE = {
    "payment_failed": ("owner", "admin"),
    "read_only": ("owner", "admin"),
    "restored": ("owner", "admin"),
    "trial_ending": ("owner",),
}


@job(APPLY_STRIPE_EVENT)
async def apply_stripe_event(session: AsyncSession, event_id: str) -> None:
    """Make the tenant match Stripe's present state, which covers this event and every other one
    of the tenant still waiting in the inbox: they are all marked processed, so a burst of events
    (a checkout sends six) costs one call to Stripe, and the jobs of the others find nothing to do."""
    settings = get_settings()
    # locked before asking Stripe: a later answer can never be overwritten by an earlier one
    tenant = await lock_tenant(session)
    # read before asking Stripe, so its answer is at least as new as each of these events
    waiting = list(
        await session.scalars(
            select(StripeEvent).where(StripeEvent.tenant_id == tenant.id, StripeEvent.processed_at.is_(None))
        )
    )
    if event_id not in {event.event_id for event in waiting}:
        return  # applied already, with an earlier event of the same burst
    subscription = None
    if tenant.stripe_customer_id:
        subscription = await gateway(settings).current_subscription(tenant.stripe_customer_id)
    now = now_utc()
    await apply_subscription(session, tenant, subscription, settings=settings, now=now)
    trial_ending = any(event.type == TRIAL_WILL_END for event in waiting)
    if trial_ending and subscription and subscription.status == SubscriptionStatus.TRIALING:
        await enqueue(session, NOTIFY, key=trial_notice_key(tenant, subscription), notice="trial_ending")
    for event in waiting:
        event.processed_at = now


@job(GRACE_OVER)
async def grace_over(session: AsyncSession, past_due_since: str) -> None:
    """The grace period of a failed payment ended: if still unpaid, the workspace is read-only
    from now on (the request guard sees it by the clock); tell the owners and record it."""
    tenant = await lock_tenant(session)
    since = datetime.fromisoformat(past_due_since)
    if tenant.subscription_status != SubscriptionStatus.PAST_DUE or tenant.past_due_since != since:
        return  # paid (or changed) in time
    await record(session, "billing.grace_over", "tenant", tenant.id, after={"past_due_since": since})
    await enqueue(session, NOTIFY, key=f"billing:read_only:{tenant.id}:grace:{past_due_since}", notice="read_only")


@job(NOTIFY)
async def notify(session: AsyncSession, notice: str) -> None:
    """E-mail the owners (and, for some notices, the administrators) about the subscription."""
    tenant = await lock_tenant(session)
    settings = get_settings()
    roles = _AUDIENCE[notice]
    people = await session.execute(
        select(Identity)
        .join(Membership, Membership.identity_id == Identity.id)
        .where(
            Membership.kind == MembershipKind.STAFF,
            Membership.active.is_(True),
            or_(*(any_(Membership.roles) == role for role in roles)),
        )
        .order_by(Identity.email)
    )
    grace_end = tenant.past_due_since + settings.billing_grace if tenant.past_due_since else None
    for identity in people.scalars().unique():
        await queue_mail(
            session,
            to=identity.email,
            template=f"billing_{notice}",
            locale=recipient_locale(identity.locale, tenant.locale),
            context={
                "name": identity.full_name,
                "link": f"{workspace_origin(settings, tenant.slug)}{UPGRADE_PATH}",
                "plan": plan_of(tenant.plan).name,
                "trial_end": tenant.trial_end.date().isoformat() if tenant.trial_end else "",
                "grace_end": grace_end.date().isoformat() if grace_end else "",
            },
        )
