"""The Stripe webhook intake (POST /webhooks/stripe on the apex) as a property: thousands of
events signed here, the way Stripe signs them (independently of the app's code), are each kept
once with the one job that applies them; every single-byte forgery of a body or a signature,
a wrong secret, a stale timestamp, a missing header or an empty body is refused with 400 and
writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.app import create_app
from backend.billing.service import APPLY_STRIPE_EVENT
from backend.jobs.broker import load_jobs
from backend.models import OutboxJob, StripeEvent
from tenants.isolation import Database
from tests.billing.conftest import Workspace, counts, new_workspace, settings_of

SECRET = "whsec_test_property"
CUSTOMER = "cus_property"
PAYLOADS = 2000
TOLERANCE = 300  # seconds: Stripe's, and so the app's
HANDLED_TYPES = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)
STATUSES = ("trialing", "active", "past_due", "unpaid", "canceled", "incomplete", "paused")
REFUSED = {"error": "invalid signature"}

# characters for random text: ASCII, Latin, Greek, CJK, emoji, right-to-left, combining marks
# (no NUL and no lone surrogates: neither can be in a JSON text Stripe sends, nor in jsonb)
ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyz0123456789 _-.,;:!?'\"\\/{}[]",
    "àéîõüßçñøåæœÀÉÎÕÜ",
    "αβγδεζηθλμπσφψω",
    "深圳华强电子有限公司供应商采购订单",
    "😀🚀🔥✅💶🧾",
    "مرحبا שלום",
    "e\u0301a\u0308\u200b\u200d\u2028\t\n",
)


# --- signing, as Stripe does --------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def text(rng: random.Random, longest: int = 24) -> str:
    return "".join(rng.choice(rng.choice(ALPHABETS)) for _ in range(rng.randint(0, longest)))


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind == 0:
        return text(rng)
    if kind == 1:
        return rng.randint(-(2**53), 2**53)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return round(rng.uniform(-1e6, 1e6), rng.randint(0, 6))
    if kind == 4:
        return text(rng, 200)
    if kind == 5:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {f"x_{text(rng, 10)}": value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def event(rng: random.Random, n: int) -> dict[str, Any]:
    subscription: dict[str, Any] = {
        "object": "subscription",
        "id": f"sub_{rng.getrandbits(64):016x}",
        "customer": CUSTOMER,
        "status": rng.choice(STATUSES),
        "cancel_at_period_end": rng.choice([True, False]),
        "metadata": {f"x_{text(rng, 8)}": text(rng) for _ in range(rng.randint(0, 3))},
    }
    for _ in range(rng.randint(0, 6)):
        subscription[f"x_{text(rng, 12)}"] = value(rng)
    return {
        "id": f"evt_{n:05d}{rng.getrandbits(72):018x}",
        "object": "event",
        "type": rng.choice(HANDLED_TYPES),
        "created": int(time.time()) - rng.randint(0, 3600),
        "livemode": False,
        "api_version": "2025-03-31.basil",
        "data": {"object": subscription},
    }


def encode(rng: random.Random, data: dict[str, Any]) -> bytes:
    # Stripe's bodies are UTF-8 JSON; both escaped and raw non-ASCII text must verify
    return json.dumps(data, ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, 2])).encode()


def replace_byte(rng: random.Random, data: bytes, choices: list[int]) -> bytes:
    position = rng.randrange(len(data))
    replacement = rng.choice([b for b in choices if b != data[position]])
    return data[:position] + bytes([replacement]) + data[position + 1 :]


ANY_BYTE = list(range(256))
# what a header can carry (visible ASCII and space); non-ASCII bytes: see the test after the property
HEADER_BYTES = list(range(0x20, 0x7F))


# --- the app and the workspace ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def workspace(db: Database, demo: Any) -> Workspace:
    return await new_workspace(db, "sig", stripe_customer_id=CUSTOMER)


@pytest.fixture(scope="module")
async def post(db: Database, demo: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable[..., Any]]:
    """post(body, signature or None) -> the apex's answer to a Stripe delivery."""
    load_jobs()
    settings = settings_of(str(tmp_path_factory.mktemp("sig-data")), STRIPE_WEBHOOK_SECRET=SECRET)
    assert not settings.billing_enabled  # the intake needs only the endpoint secret
    app = create_app(settings, database=db)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")

    async def send(body: bytes, signature: str | bytes | None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers["stripe-signature"] = signature  # type: ignore[assignment]
        return await client.post("/webhooks/stripe", content=body, headers=headers)

    yield send
    await client.aclose()


async def stored(db: Database, workspace: Workspace) -> dict[str, dict[str, Any]]:
    async with db.transaction(workspace.context) as session:
        rows = await session.execute(
            select(StripeEvent.event_id, StripeEvent.payload).where(StripeEvent.tenant_id == workspace.id)
        )
        return dict(rows.tuples().all())


async def apply_jobs(db: Database, workspace: Workspace) -> dict[str, dict[str, Any]]:
    async with db.transaction(workspace.context) as session:
        rows = await session.scalars(
            select(OutboxJob).where(OutboxJob.tenant_id == workspace.id, OutboxJob.actor == APPLY_STRIPE_EVENT)
        )
        return {job.key or "": job.args for job in rows}


# --- the property ---------------------------------------------------------------------------------


async def test_signed_events_are_kept_once_and_every_forgery_is_refused(
    db: Database, workspace: Workspace, post: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    # thousands of requests: a log line each ("HTTP Request", "Stripe webhook refused") would cost
    # more than the requests themselves; errors are still seen
    caplog.set_level(logging.ERROR, logger="httpx")
    caplog.set_level(logging.ERROR, logger="merkato.billing")
    rng = random.Random(20260301)
    start = await counts(db, workspace.id)
    sent: dict[str, dict[str, Any]] = {}
    refused = 0
    failures: list[str] = []

    async def refuse(what: str, body: bytes, signature: str | bytes | None) -> None:
        nonlocal refused
        response = await post(body, signature)
        refused += 1
        if response.status_code != 400 or response.json() != REFUSED:
            failures.append(f"{what}: {response.status_code} {response.text[:200]}")

    others = ("wrong secret", "stale timestamp", "no header", "empty body", "empty body, signed")
    for n in range(PAYLOADS):
        data = event(rng, n)
        body = encode(rng, data)
        now = int(time.time())
        signature = sign(body, SECRET, now)

        # forgeries first: had one been kept, the genuine delivery below would be a "duplicate"
        await refuse(f"#{n} body byte", replace_byte(rng, body, ANY_BYTE), signature)
        await refuse(f"#{n} header byte", body, replace_byte(rng, signature.encode(), HEADER_BYTES))
        kind = others[n % len(others)]
        if kind == "wrong secret":
            wrong = replace_byte(rng, SECRET.encode(), HEADER_BYTES).decode()
            await refuse(f"#{n} {kind}", body, sign(body, wrong, now))
        elif kind == "stale timestamp":
            old = now - TOLERANCE - 1 - rng.randint(0, 30 * 86400)
            await refuse(f"#{n} {kind}", body, sign(body, SECRET, old))
        elif kind == "no header":
            await refuse(f"#{n} {kind}", body, None)
        elif kind == "empty body":
            await refuse(f"#{n} {kind}", b"", signature)
        else:
            await refuse(f"#{n} {kind}", b"", sign(b"", SECRET, now))

        accepted = await post(body, signature)
        if accepted.status_code != 202 or accepted.json() != {"status": "accepted"}:
            failures.append(f"#{n} genuine: {accepted.status_code} {accepted.text[:200]}")
        sent[data["id"]] = data
        if n % 10 == 0:  # Stripe retries the very same delivery
            again = await post(body, signature)
            if again.status_code != 202 or again.json() != {"status": "duplicate"}:
                failures.append(f"#{n} retry: {again.status_code} {again.text[:200]}")
        elif n % 10 == 5:  # ...or delivers the same event again, signed afresh
            again = await post(body, sign(body, SECRET, now + 1))
            if again.status_code != 202 or again.json() != {"status": "duplicate"}:
                failures.append(f"#{n} redelivery: {again.status_code} {again.text[:200]}")
        if failures:
            break  # the first one says enough; thousands more would only bury it
        if n % 500 == 499:  # keep the module's own bookkeeping honest along the way
            now_counts = await counts(db, workspace.id)
            assert now_counts["stripe_events"] - start["stripe_events"] == n + 1

    assert not failures, "\n".join(failures[:20])
    assert refused >= 3 * PAYLOADS

    end = await counts(db, workspace.id)
    assert end["stripe_events"] - start["stripe_events"] == PAYLOADS  # one row per genuine event
    assert end["outbox"] - start["outbox"] == PAYLOADS  # one job each, nothing else
    assert end["audit_events"] == start["audit_events"]
    assert (end["memberships"], end["suppliers"], end["customers"]) == (
        start["memberships"],
        start["suppliers"],
        start["customers"],
    )

    # what was kept is what Stripe said, unicode and all, and each has its job
    kept = await stored(db, workspace)
    assert set(kept) == set(sent)
    mismatched = [event_id for event_id, payload in kept.items() if payload != sent[event_id]]
    assert not mismatched, f"{len(mismatched)} payloads differ, e.g. {mismatched[0]}"
    jobs = await apply_jobs(db, workspace)
    assert jobs == {f"stripe-event:{event_id}": {"event_id": event_id} for event_id in sent}


async def test_an_event_of_another_stripe_customer_is_ignored(
    db: Database, workspace: Workspace, post: Callable[..., Any]
) -> None:
    rng = random.Random(7)
    data = event(rng, 99999)
    data["data"]["object"]["customer"] = "cus_not_ours"
    body = encode(rng, data)
    before = await counts(db, workspace.id)
    response = await post(body, sign(body, SECRET, int(time.time())))
    assert (response.status_code, response.json()) == (202, {"status": "ignored"})
    assert await counts(db, workspace.id) == before


async def test_a_signature_with_a_non_ascii_byte_is_refused(
    db: Database, workspace: Workspace, post: Callable[..., Any]
) -> None:
    rng = random.Random(11)
    body = encode(rng, event(rng, 88888))
    signature = sign(body, SECRET, int(time.time())).encode()
    before = await counts(db, workspace.id)
    # a byte of the v1 signature replaced by a Latin-1 byte (obs-text: HTTP servers pass it on)
    position = signature.index(b"v1=") + 3 + rng.randrange(64)
    forged = signature[:position] + b"\xe9" + signature[position + 1 :]
    response = await post(body, forged)
    assert await counts(db, workspace.id) == before  # nothing written, whatever the answer
    assert response.status_code == 400, f"{response.status_code}: {response.text[:120]}"
    assert response.json() == REFUSED
