"""Replaying Stripe's history: ≥ 500 recorded events of ≥ 50 subscriptions, delivered in order and
then, with duplicates, in 20 random orders (the worker running at random moments in between),
must leave every workspace in the same state with the same side effects, exactly once each.

The history is made by driving the fake Stripe like real customers would: checkouts (some with
cards that will be declined), plan and interval changes, cancellations, months of renewals and
dunning, and cards fixed through the billing portal.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.service import PersonForm, add_person
from backend.billing import service as billing
from backend.dev.fake_stripe.server import RunningFakeStripe
from backend.jobs.broker import load_jobs
from backend.jobs.consumer import run_job
from backend.models import MembershipKind, TenantStatus
from backend.settings import Settings
from tenants.billing.access import LIVE
from tenants.billing.plans import PLANS, Interval
from tenants.context import TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.jobs import POLICY
from tests.stripe.conftest import deliver, fake_events

SUBSCRIPTIONS = 52
ORDERS = 20
WORKERS = 4  # jobs run concurrently, like that many worker threads
SENDERS = 4  # webhooks delivered concurrently
DAY = 86_400
RESET = """
UPDATE tenants SET status = 'pending', plan = 'starter', billing_interval = NULL, subscription_status = NULL,
    stripe_subscription_id = NULL, past_due_since = NULL, trial_end = NULL, current_period_end = NULL,
    cancel_at_period_end = false
WHERE id = ANY(:ids);
DELETE FROM stripe_events WHERE tenant_id = ANY(:ids);
DELETE FROM outbox WHERE tenant_id = ANY(:ids);
DELETE FROM outgoing_mail WHERE tenant_id = ANY(:ids);
DELETE FROM audit_events WHERE tenant_id = ANY(:ids);
"""


@dataclass(frozen=True)
class History:
    tenant_ids: list[UUID]
    events: list[dict[str, Any]]


async def _signed_up(db: Database, settings: Settings, index: int, run: str) -> tuple[UUID, str]:
    """A pending workspace with its owner, and the Checkout URL Stripe gave it."""
    tenant_id = UUID(int=random.Random(f"{run}{index}").getrandbits(128) & ~(0xF << 76) | (0x7 << 76))
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        code = ("starter", "growth", "enterprise")[index % 3]
        tenant = await create_tenant(
            session,
            slug=f"rp{run}-{index}",
            name=f"Replay {index}",
            status=TenantStatus.PENDING,
            plan=code,
            tenant_id=tenant_id,
        )
        tenant.billing_interval = Interval.YEAR.value if index % 4 == 0 else Interval.MONTH.value
        owner = PersonForm(email=f"owner{index}@rp{run}.test", full_name=f"Owner {index}")
        owner.roles = ["owner"]
        await add_person(session, owner, kind=MembershipKind.STAFF)
    url = await billing.checkout_url(
        db, settings, tenant_id, success_url="http://localhost/ok", cancel_url="http://localhost/no"
    )
    return tenant_id, url


async def _make_history(db: Database, settings: Settings, fake: RunningFakeStripe, run: str) -> History:
    gateway = billing.gateway(settings)
    tenant_ids, customers = [], []
    async with httpx.AsyncClient() as client:
        for index in range(SUBSCRIPTIONS):
            tenant_id, url = await _signed_up(db, settings, index, run)
            form = {"card_fails": "on"} if index % 3 == 1 else {}
            paid = await client.post(f"{url}/pay", data=form)
            assert paid.status_code in (302, 303), paid.text
            tenant_ids.append(tenant_id)
        customer_of = {}
        for tenant_id in tenant_ids:  # each tenant's row is visible in its own context only
            async with db.transaction(TenantContext.system(tenant_id)) as session:
                customer_of[tenant_id] = await session.scalar(
                    text("SELECT stripe_customer_id FROM tenants WHERE id = :id"), {"id": tenant_id}
                )
        customers = [customer_of[tenant_id] for tenant_id in tenant_ids]
        for index, customer in enumerate(customers):
            subscription = await gateway.current_subscription(customer)
            assert subscription is not None
            if index % 5 == 1:
                plan = PLANS["enterprise" if index % 2 else "growth"]
                subscription = await gateway.change_plan(tenant_ids[index], 100, subscription, plan, Interval.MONTH)
            if index % 5 == 2:
                await gateway.cancel_at_period_end(tenant_ids[index], 101, subscription, cancel=True)
            if index % 10 == 7:
                await gateway.cancel_at_period_end(tenant_ids[index], 101, subscription, cancel=True)
                await gateway.cancel_at_period_end(tenant_ids[index], 102, subscription, cancel=False)
        for step in range(3):
            await fake.advance_async(10 * DAY)
            if step == 2:
                # some declined cards are fixed through the billing portal, which pays what is open
                for index in range(1, SUBSCRIPTIONS, 6):
                    portal = await gateway.portal_url(
                        customers[index], return_url="http://localhost/b", key=f"p{run}{index}"
                    )
                    fixed = await client.post(f"{portal}/card")
                    assert fixed.status_code in (302, 303), fixed.text
    mine = set(customers)
    events = [event for event in await fake_events(fake) if _customer(event) in mine]
    return History(tenant_ids=tenant_ids, events=events)


def _customer(event: dict[str, Any]) -> str | None:
    return billing.customer_of(event)


async def _drain(db: Database, owner_engine: AsyncEngine, tenant_ids: list[UUID]) -> None:
    """The worker: every due job of these tenants through the real consumer, until none is left
    (found in one query as the owner, rather than one transaction per tenant)."""
    # several workers at once, as in production: the tenant lock keeps them from racing
    gate = asyncio.Semaphore(WORKERS)

    async def run(tenant_id: UUID, job_id: UUID, actor: str) -> None:
        async with gate:
            await run_job(db, POLICY, actor, tenant_id, job_id)

    for _ in range(10):
        async with owner_engine.connect() as connection:
            due = (
                await connection.execute(
                    text(
                        "SELECT tenant_id, id, actor FROM outbox WHERE tenant_id = ANY(:ids)"
                        " AND status = 'pending' AND run_at <= now() ORDER BY id"
                    ),
                    {"ids": tenant_ids},
                )
            ).all()
        if not due:
            return
        await asyncio.gather(*(run(*row) for row in due))
    raise AssertionError("jobs kept coming")


async def _reset(owner_engine: AsyncEngine, tenant_ids: list[UUID]) -> None:
    async with owner_engine.begin() as connection:
        for statement in RESET.strip().split(";\n"):
            await connection.execute(text(statement), {"ids": tenant_ids})


async def _outcome(owner_engine: AsyncEngine, tenant_ids: list[UUID]) -> dict[str, Any]:
    """Every tenant's billing state and every side effect, as comparable values."""
    async with owner_engine.connect() as connection:
        states = {
            row.id: (
                row.status,
                row.subscription_status,
                row.plan,
                row.billing_interval,
                row.cancel_at_period_end,
                row.stripe_subscription_id,
                row.past_due_since is not None,
            )
            for row in await connection.execute(text("SELECT * FROM tenants WHERE id = ANY(:ids)"), {"ids": tenant_ids})
        }
        mails = Counter(
            (row.tenant_id, row.to_address, row.template)
            for row in await connection.execute(
                text("SELECT tenant_id, to_address, template FROM outgoing_mail WHERE tenant_id = ANY(:ids)"),
                {"ids": tenant_ids},
            )
        )
        audit = Counter(
            (row.tenant_id, row.action, json.dumps(row.changes, sort_keys=True, default=str))
            for row in await connection.execute(
                text("SELECT tenant_id, action, changes FROM audit_events WHERE tenant_id = ANY(:ids)"),
                {"ids": tenant_ids},
            )
        )
        inbox = await connection.scalar(
            text("SELECT count(*) FROM stripe_events WHERE tenant_id = ANY(:ids)"), {"ids": tenant_ids}
        )
    return {"states": states, "mails": mails, "audit": audit, "inbox": inbox}


@pytest.fixture(scope="module")
async def history(db: Database, stripe_settings: Settings, fake_stripe: RunningFakeStripe) -> History:
    load_jobs()
    return await _make_history(db, stripe_settings, fake_stripe, run=f"{random.randrange(10**6)}")


async def test_any_order_with_duplicates_ends_in_the_same_state(
    history: History,
    billing_app: HostDispatcher,
    db: Database,
    owner_engine: AsyncEngine,
    fake_stripe: RunningFakeStripe,
    stripe_settings: Settings,
) -> None:
    events, tenant_ids = history.events, history.tenant_ids
    subscriptions = {
        event["data"]["object"]["id"] for event in events if event["type"].startswith("customer.subscription")
    }
    assert len(events) >= 500
    assert len(subscriptions) >= 50

    await _reset(owner_engine, tenant_ids)
    assert set(await deliver(billing_app, events)) == {202}
    await _drain(db, owner_engine, tenant_ids)
    expected = await _outcome(owner_engine, tenant_ids)

    # the in-order result is Stripe's own present state, tenant by tenant
    gateway = billing.gateway(stripe_settings)
    statuses = Counter()
    for tenant_id, state in expected["states"].items():
        status, subscription_status, plan, interval, cancel, subscription_id, past_due = state
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            customer = await session.scalar(
                text("SELECT stripe_customer_id FROM tenants WHERE id = :id"), {"id": tenant_id}
            )
        current = await gateway.current_subscription(customer)
        assert current is not None
        assert (subscription_status, subscription_id, cancel) == (
            current.status,
            current.id,
            current.cancel_at_period_end,
        )
        assert current.plan is not None
        assert (plan, interval) == (current.plan[0].code, current.plan[1].value)
        # replayed from nothing, a workspace whose subscription already ended was never opened
        assert status == ("active" if current.status in LIVE else "pending")
        assert past_due == (current.status == "past_due")
        statuses[subscription_status] += 1
    assert {"active", "unpaid", "canceled"} <= set(statuses), statuses
    assert expected["inbox"] == len({event["id"] for event in events})
    templates = Counter(template for (_t, _to, template) in expected["mails"].elements())
    assert templates["billing_read_only"] >= statuses["unpaid"] + statuses["canceled"]

    rng = random.Random(20261122)
    for order in range(ORDERS):
        await _reset(owner_engine, tenant_ids)
        shuffled = [event for event in events for _ in range(rng.choice((1, 1, 2, 3)))]
        rng.shuffle(shuffled)
        position = 0
        while position < len(shuffled):
            chunk = rng.randint(1, 120)
            assert set(await deliver(billing_app, shuffled[position : position + chunk], concurrency=SENDERS)) == {202}
            position += chunk
            if rng.random() < 0.5:
                await _drain(db, owner_engine, tenant_ids)  # the worker at a random moment, mid-delivery
        await _drain(db, owner_engine, tenant_ids)
        got = await _outcome(owner_engine, tenant_ids)
        assert got == expected, f"order {order} differs"
