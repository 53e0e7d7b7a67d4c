"""Billing against the project's fake Stripe, through the real SDK: the fake in a thread, the app
in-process with billing on, and the environment the billing jobs read their settings from.

Webhooks are switched off in the fake: these tests take its recorded events and deliver them to
the app themselves (signed as Stripe signs), in whatever order and as often as a test wants.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from uuid import UUID

import httpx
import pytest

from backend.app import create_app
from backend.billing.gateway import StripeGateway
from backend.dev.fake_stripe.server import RunningFakeStripe, start_in_thread
from backend.settings import Settings, get_settings, load_settings
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.jobs import drain

SECRET = "whsec_stripe_tests"


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header, computed the documented way (independently of the app's code)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[RunningFakeStripe]:
    with start_in_thread() as fake:
        fake.state.webhooks.enabled = False
        yield fake


@pytest.fixture(scope="module")
async def stripe_settings(
    fake_stripe: RunningFakeStripe, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """Billing on, for the app and for the jobs (which read the environment's settings)."""
    env = {
        "MERKATO_ENV": "test",
        "MERKATO_SECRET_KEY": "stripe-test-secret-key-with-enough-entropy-0123456789",
        "MERKATO_DATA_DIR": str(tmp_path_factory.mktemp("stripe-data")),
        "STRIPE_SECRET_KEY": "sk_test_stripe_tests",
        "STRIPE_API_BASE": fake_stripe.url,
        "STRIPE_WEBHOOK_SECRET": SECRET,
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    settings = load_settings(env)
    await StripeGateway(settings).sync_prices()
    yield settings
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def billing_app(db: Database, stripe_settings: Settings) -> HostDispatcher:
    return create_app(stripe_settings, database=db)


async def fake_events(fake: RunningFakeStripe) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{fake.url}/_fake/events")
    events: list[dict[str, Any]] = response.json()["data"]
    return events


async def deliver(app: HostDispatcher, events: Sequence[dict[str, Any]], *, concurrency: int = 1) -> list[int]:
    """POST each event to the apex webhook as Stripe would (Stripe sends several at once: so may
    this); the status codes, in the events' order."""
    statuses = [0] * len(events)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:

        async def send(index: int, event: dict[str, Any]) -> None:
            body = json.dumps(event).encode()
            async with gate:
                response = await client.post(
                    "/webhooks/stripe",
                    content=body,
                    headers={"stripe-signature": sign(body), "content-type": "application/json"},
                )
            statuses[index] = response.status_code

        await asyncio.gather(*(send(index, event) for index, event in enumerate(events)))
    return statuses


async def deliver_and_apply(
    app: HostDispatcher, db: Database, events: Sequence[dict[str, Any]], tenant_ids: Sequence[UUID]
) -> None:
    assert set(await deliver(app, events)) <= {202}
    await drain(db, tenant_ids)
