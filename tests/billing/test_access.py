"""The subscription state table (tenants/billing/access.py) and the transitions Stripe's word
makes through `apply_subscription`: the tenant row, the audit trail, the outbox jobs (notices,
the grace-period timer) and the e-mails those jobs send, each once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.billing.gateway import Subscription
from backend.billing.service import GRACE_OVER, NOTIFY, apply_subscription, lock_tenant
from backend.billing.tasks import _AUDIENCE, grace_over
from backend.jobs.broker import load_jobs
from backend.models import AuditEvent, OutboxJob, OutgoingMail, TenantStatus
from backend.settings import Settings, get_settings
from tenants.billing.access import Access, SubscriptionStatus, access_for
from tenants.billing.plans import PLANS, Interval
from tenants.isolation import Database
from tests.billing.conftest import Workspace, add_member, counts, load_tenant, new_workspace
from tests.fixtures.jobs import drain

GRACE = timedelta(days=7)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The product's decision for every status Stripe can report (past_due: inside its grace period).
EXPECTED: dict[SubscriptionStatus, Access] = {
    SubscriptionStatus.INCOMPLETE: Access.READ_ONLY,
    SubscriptionStatus.INCOMPLETE_EXPIRED: Access.READ_ONLY,
    SubscriptionStatus.TRIALING: Access.FULL,
    SubscriptionStatus.ACTIVE: Access.FULL,
    SubscriptionStatus.PAST_DUE: Access.GRACE,
    SubscriptionStatus.UNPAID: Access.READ_ONLY,
    SubscriptionStatus.CANCELED: Access.READ_ONLY,
    SubscriptionStatus.PAUSED: Access.READ_ONLY,
}


# --- the state table ------------------------------------------------------------------------------


def test_every_status_has_a_decision() -> None:
    # iterating the enum: a status added to it without a decision here fails
    assert set(EXPECTED) == set(SubscriptionStatus)


@pytest.mark.parametrize("status", list(SubscriptionStatus))
def test_access_of_each_status(status: SubscriptionStatus, caplog: pytest.LogCaptureFixture) -> None:
    since = NOW - timedelta(days=1)
    with caplog.at_level(logging.ERROR, logger="merkato.billing"):
        got = access_for(status.value, since, now=NOW, grace=GRACE)
    assert got == EXPECTED[status]
    assert got.writable == (EXPECTED[status] != Access.READ_ONLY)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a known status is not an error"


def test_past_due_is_full_access_inside_the_grace_period_and_read_only_after() -> None:
    since = NOW - GRACE
    # the last instant inside the grace period, and the first one after it
    assert access_for("past_due", since, now=NOW - timedelta(microseconds=1), grace=GRACE) == Access.GRACE
    assert access_for("past_due", since, now=NOW, grace=GRACE) == Access.READ_ONLY
    assert access_for("past_due", since, now=NOW + timedelta(days=30), grace=GRACE) == Access.READ_ONLY
    assert access_for("past_due", NOW, now=NOW, grace=GRACE) == Access.GRACE  # the payment just failed
    # no start recorded yet: the grace period cannot have ended
    assert access_for("past_due", None, now=NOW, grace=GRACE) == Access.GRACE
    # the grace is a setting, not a constant
    assert access_for("past_due", NOW - timedelta(days=2), now=NOW, grace=timedelta(days=1)) == Access.READ_ONLY
    assert Access.GRACE.writable


def test_no_subscription_means_billing_off_and_full_access() -> None:
    assert access_for(None, None, now=NOW, grace=GRACE) == Access.FULL
    assert access_for(None, NOW - timedelta(days=365), now=NOW, grace=GRACE) == Access.FULL


def test_an_unknown_status_is_read_only_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="merkato.billing"):
        got = access_for("suspended_by_martians", None, now=NOW, grace=GRACE)
    assert got == Access.READ_ONLY
    assert not got.writable
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "merkato.billing"]
    assert len(errors) == 1
    assert "suspended_by_martians" in errors[0].getMessage()


# --- transitions through apply_subscription ------------------------------------------------------

GROWTH_MONTHLY = PLANS["growth"].lookup_key(Interval.MONTH)
PERIOD_END = datetime(2030, 1, 1, tzinfo=UTC)


def subscription(status: str, *, lookup_key: str | None = GROWTH_MONTHLY, customer: str = "cus_x") -> Subscription:
    return Subscription(
        id="sub_access_1",
        customer=customer,
        status=status,
        created=1_700_000_000,
        item_id="si_access_1",
        lookup_key=lookup_key,
        trial_end=datetime(2029, 12, 15, tzinfo=UTC) if status == "trialing" else None,
        current_period_end=PERIOD_END,
        cancel_at_period_end=False,
    )


@pytest.fixture(scope="module")
def settings() -> Settings:
    # the settings the billing jobs read (get_settings), so the grace the timer uses is theirs
    load_jobs()
    return get_settings()


async def apply(db: Database, workspace: Workspace, sub: Subscription, settings: Settings, now: datetime) -> bool:
    """What the worker does with Stripe's answer: lock the tenant, make it match, commit."""
    async with db.transaction(workspace.context) as session:
        tenant = await lock_tenant(session)
        return await apply_subscription(session, tenant, sub, settings=settings, now=now)


async def jobs(db: Database, workspace: Workspace, actor: str) -> list[OutboxJob]:
    async with db.transaction(workspace.context) as session:
        rows = await session.scalars(
            select(OutboxJob)
            .where(OutboxJob.tenant_id == workspace.id, OutboxJob.actor == actor)
            .order_by(OutboxJob.created_at, OutboxJob.key)
        )
        return list(rows)


async def audit(db: Database, workspace: Workspace, action: str) -> list[AuditEvent]:
    async with db.transaction(workspace.context) as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == workspace.id, AuditEvent.action == action)
            .order_by(AuditEvent.occurred_at)
        )
        return list(rows)


async def billing_mails(db: Database, workspace: Workspace) -> list[tuple[str, str]]:
    """(template, recipient) of every billing e-mail of the workspace, sorted."""
    async with db.transaction(workspace.context) as session:
        rows = await session.execute(
            select(OutgoingMail.template, OutgoingMail.to_address).where(
                OutgoingMail.tenant_id == workspace.id, OutgoingMail.template.like("billing_%")
            )
        )
        return sorted((template, to) for template, to in rows)


def notices(found: list[OutboxJob]) -> list[str]:
    return [job.args["notice"] for job in found]


@pytest.fixture(scope="module")
async def workspace(db: Database, demo: Any) -> Workspace:
    """A pending workspace on the starter plan (as signup leaves it), with an administrator and a
    viewer besides its owner: the notices' audience differs by role."""
    made = await new_workspace(db, "acc", plan="starter", status=TenantStatus.PENDING, stripe_customer_id=None)
    await add_member(db, made, "admin", roles=("admin",))
    await add_member(db, made, "viewer", roles=("viewer",))
    return made


def audience(workspace: Workspace, notice: str) -> list[str]:
    emails = {"owner": workspace.owner_email, "admin": workspace.email("admin")}
    return sorted(emails[role] for role in _AUDIENCE[notice])


async def test_subscription_transitions(db: Database, workspace: Workspace, settings: Settings) -> None:
    """pending → trialing → active → past_due → unpaid → active → canceled, each step's state,
    audit event and notices; repeating a step changes nothing."""
    changed = "billing.subscription_changed"
    now = datetime.now(UTC)

    # pending + trialing: the workspace opens, on the subscription's plan and interval
    assert await apply(db, workspace, subscription("trialing"), settings, now)
    tenant = await load_tenant(db, workspace.id)
    assert (tenant.status, tenant.plan, tenant.billing_interval) == (TenantStatus.ACTIVE, "growth", "month")
    assert (tenant.subscription_status, tenant.stripe_subscription_id) == ("trialing", "sub_access_1")
    assert tenant.trial_end == datetime(2029, 12, 15, tzinfo=UTC)
    assert tenant.current_period_end == PERIOD_END
    assert tenant.past_due_since is None
    events = await audit(db, workspace, changed)
    assert len(events) == 1
    assert events[0].actor_kind == "system"
    assert {"status", "plan", "billing_interval", "subscription_status"} <= set(events[0].changes)
    assert await jobs(db, workspace, NOTIFY) == []  # full access before and after: nothing to say

    # the same word again (a duplicate or a later event about the same state): nothing at all
    before = await counts(db, workspace.id)
    assert not await apply(db, workspace, subscription("trialing"), settings, now + timedelta(minutes=1))
    assert await counts(db, workspace.id) == before

    # trial over, paid
    assert await apply(db, workspace, subscription("active"), settings, now)
    assert len(await audit(db, workspace, changed)) == 2
    assert await jobs(db, workspace, NOTIFY) == []

    # the renewal payment fails: a notice, and the end of the grace period as a durable timer
    failed_at = now + timedelta(minutes=2)
    assert await apply(db, workspace, subscription("past_due"), settings, failed_at)
    tenant = await load_tenant(db, workspace.id)
    assert tenant.past_due_since == failed_at
    assert len(await audit(db, workspace, changed)) == 3
    notify = await jobs(db, workspace, NOTIFY)
    assert notices(notify) == ["payment_failed"]
    assert "payment_failed" in (notify[0].key or "")
    timers = await jobs(db, workspace, GRACE_OVER)
    assert len(timers) == 1
    assert timers[0].run_at == failed_at + settings.billing_grace
    assert datetime.fromisoformat(timers[0].args["past_due_since"]) == failed_at

    # Stripe retries and says past_due again: the grace period keeps its start, no second notice
    before = await counts(db, workspace.id)
    assert not await apply(db, workspace, subscription("past_due"), settings, failed_at + timedelta(days=1))
    assert (await load_tenant(db, workspace.id)).past_due_since == failed_at
    assert await counts(db, workspace.id) == before

    # retries exhausted: unpaid, read-only
    assert await apply(db, workspace, subscription("unpaid"), settings, failed_at + timedelta(days=2))
    tenant = await load_tenant(db, workspace.id)
    assert (tenant.subscription_status, tenant.past_due_since) == ("unpaid", None)
    assert notices(await jobs(db, workspace, NOTIFY)) == ["payment_failed", "read_only"]
    assert len(await jobs(db, workspace, GRACE_OVER)) == 1

    # paid at last: restored
    assert await apply(db, workspace, subscription("active"), settings, failed_at + timedelta(days=3))
    assert notices(await jobs(db, workspace, NOTIFY)) == ["payment_failed", "read_only", "restored"]

    # canceled: read-only again (a notice of its own, not the unpaid one's)
    assert await apply(db, workspace, subscription("canceled"), settings, failed_at + timedelta(days=4))
    assert (await load_tenant(db, workspace.id)).subscription_status == "canceled"
    notify = await jobs(db, workspace, NOTIFY)
    assert notices(notify) == ["payment_failed", "read_only", "restored", "read_only"]
    assert len({job.key for job in notify}) == 4
    assert len(await audit(db, workspace, changed)) == 6  # trialing, active, past_due, unpaid, active, canceled

    # the notices become e-mails: to the owner, and to administrators where the audience says so
    outcomes = await drain(db, [workspace.id])
    assert set(outcomes) == {"done"}, outcomes
    expected = sorted(
        [
            *(("billing_payment_failed", to) for to in audience(workspace, "payment_failed")),
            *(("billing_read_only", to) for to in audience(workspace, "read_only")),
            *(("billing_restored", to) for to in audience(workspace, "restored")),
            *(("billing_read_only", to) for to in audience(workspace, "read_only")),
        ]
    )
    assert await billing_mails(db, workspace) == expected
    assert workspace.email("viewer") not in {to for _, to in expected}
    # every notice job ran (the grace timer is still in the future)
    assert all(job.status == "done" for job in await jobs(db, workspace, NOTIFY))

    # draining again sends nothing more
    before = await counts(db, workspace.id)
    assert await drain(db, [workspace.id]) == {}
    assert await billing_mails(db, workspace) == expected
    assert await counts(db, workspace.id) == before


async def test_a_price_we_do_not_sell_keeps_the_plan(
    db: Database, demo: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    made = await new_workspace(db, "acc-price", plan="starter", status=TenantStatus.PENDING)
    with caplog.at_level(logging.ERROR, logger="merkato.billing"):
        await apply(db, made, subscription("active", lookup_key="someone_elses_price"), settings, datetime.now(UTC))
    tenant = await load_tenant(db, made.id)
    assert (tenant.plan, tenant.billing_interval) == ("starter", None)
    assert (tenant.status, tenant.subscription_status) == (TenantStatus.ACTIVE, "active")
    assert any("price we do not sell" in r.getMessage() for r in caplog.records)
    # and an unknown lookup key later never undoes a plan that was set
    yearly = PLANS["enterprise"].lookup_key(Interval.YEAR)
    await apply(db, made, subscription("active", lookup_key=yearly), settings, datetime.now(UTC))
    await apply(db, made, subscription("active", lookup_key=None), settings, datetime.now(UTC))
    tenant = await load_tenant(db, made.id)
    assert (tenant.plan, tenant.billing_interval) == ("enterprise", "year")


async def test_an_unknown_status_from_stripe_is_read_only_with_a_notice(
    db: Database, demo: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    made = await new_workspace(db, "acc-unknown")
    await apply(db, made, subscription("active"), settings, datetime.now(UTC))
    with caplog.at_level(logging.ERROR, logger="merkato.billing"):
        await apply(db, made, subscription("on_hold"), settings, datetime.now(UTC))
    tenant = await load_tenant(db, made.id)
    assert tenant.subscription_status == "on_hold"
    assert access_for(tenant.subscription_status, None, now=NOW, grace=GRACE) == Access.READ_ONLY
    assert notices(await jobs(db, made, NOTIFY)) == ["read_only"]
    assert any("on_hold" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


# --- the end of the grace period -----------------------------------------------------------------


async def _past_due(db: Database, settings: Settings, prefix: str, since: datetime) -> Workspace:
    made = await new_workspace(db, prefix)
    await add_member(db, made, "admin", roles=("admin",))
    await add_member(db, made, "viewer", roles=("viewer",))
    await apply(db, made, subscription("active"), settings, since - timedelta(days=30))
    await apply(db, made, subscription("past_due"), settings, since)
    return made


async def test_grace_over_makes_the_workspace_read_only_and_says_so(
    db: Database, demo: Any, settings: Settings
) -> None:
    since = datetime.now(UTC) - settings.billing_grace - timedelta(hours=1)
    made = await _past_due(db, settings, "acc-grace", since)
    timer = (await jobs(db, made, GRACE_OVER))[0]
    assert timer.run_at <= datetime.now(UTC)  # due: the drain runs it, as the worker would

    outcomes = await drain(db, [made.id])
    assert set(outcomes) == {"done"}, outcomes
    events = await audit(db, made, "billing.grace_over")
    assert len(events) == 1
    assert [job.args["notice"] for job in await jobs(db, made, NOTIFY)] == ["payment_failed", "read_only"]
    assert await billing_mails(db, made) == sorted(
        [
            *(("billing_payment_failed", to) for to in audience(made, "payment_failed")),
            *(("billing_read_only", to) for to in audience(made, "read_only")),
        ]
    )
    tenant = await load_tenant(db, made.id)
    assert access_for(tenant.subscription_status, tenant.past_due_since, now=datetime.now(UTC), grace=GRACE) == (
        Access.READ_ONLY
    )

    # draining again (a redelivery finds the timer's row done): nothing more
    before = await counts(db, made.id)
    assert await drain(db, [made.id]) == {}
    assert await counts(db, made.id) == before


async def test_grace_over_after_payment_does_nothing(db: Database, demo: Any, settings: Settings) -> None:
    since = datetime.now(UTC) - settings.billing_grace - timedelta(hours=1)
    made = await _past_due(db, settings, "acc-paid", since)
    # paid within the grace period
    await apply(db, made, subscription("active"), settings, since + timedelta(days=1))
    before = await counts(db, made.id)
    async with db.transaction(made.context) as session:
        await grace_over(session, past_due_since=since.isoformat())
    assert await counts(db, made.id) == before
    assert await audit(db, made, "billing.grace_over") == []
    # and a grace timer of an earlier episode does nothing in a later one
    later = since + timedelta(days=2)
    await apply(db, made, subscription("past_due"), settings, later)
    before = await counts(db, made.id)
    async with db.transaction(made.context) as session:
        await grace_over(session, past_due_since=since.isoformat())
    assert await counts(db, made.id) == before
