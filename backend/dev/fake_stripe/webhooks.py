"""Webhook delivery of the fake Stripe: each event POSTed to every configured endpoint, signed the
way Stripe signs (`Stripe-Signature: t=…,v1=HMAC-SHA256("{t}.{body}")`), so the app's receiver runs
`stripe.Webhook.construct_event` unchanged.

Deliveries happen on the server's own event loop with an async client, in event order, and the
request that caused the events awaits them before it answers, which keeps tests deterministic. A
request that arrives while a delivery is under way (typically the receiver calling back into the
fake) does not wait: the delivery already running sends its events too, in order, so a receiver
that calls back can never deadlock. Failed deliveries are recorded, not retried; the control API
re-sends them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.dev.fake_stripe.model import new_id


def sign(payload: str, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header for this exact payload."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class WebhookEndpoint:
    """Where events go. `enabled_events` is Stripe's filter: event types, or "*" for all."""

    url: str
    secret: str = field(default_factory=lambda: new_id("whsec_", 32))
    id: str = field(default_factory=lambda: new_id("we_"))
    enabled_events: tuple[str, ...] = ("*",)

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "secret": self.secret, "enabled_events": list(self.enabled_events)}


@dataclass
class Delivery:
    """One attempt to deliver one event to one endpoint."""

    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    at: int
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "at": self.at,
            "status": self.status,
            "error": self.error,
            "ok": self.ok,
        }


class WebhookSender:
    """The endpoints, the queue of events still to send, and the record of every attempt."""

    def __init__(self, endpoints: Iterable[WebhookEndpoint] = (), *, timeout: float = 10.0) -> None:
        self.endpoints: list[WebhookEndpoint] = list(endpoints)
        self.enabled = True
        self.deliveries: list[Delivery] = []
        self.timeout = timeout
        self._queue: deque[dict[str, Any]] = deque()
        self._lock: asyncio.Lock | None = None
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def subscribers(self, event_type: str) -> list[WebhookEndpoint]:
        return [endpoint for endpoint in self.endpoints if endpoint.wants(event_type)] if self.enabled else []

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue a new event; events created while delivery is disabled are only recorded."""
        if self.enabled and self.subscribers(event["type"]):
            self._queue.append(event)

    def clear(self) -> None:
        self._queue.clear()
        self.deliveries.clear()

    async def flush(self) -> None:
        """Send everything queued, in order; return at once if a delivery is already running (see the
        module docstring)."""
        lock = self._bound_lock()
        if lock.locked():
            return
        async with lock:
            while self._queue:
                event = self._queue.popleft()
                for endpoint in self.subscribers(event["type"]):
                    await self._send(event, endpoint)

    async def redeliver(self, events: Iterable[dict[str, Any]], *, only_missing: bool = False) -> list[Delivery]:
        """Send these events again, after anything queued, to every endpoint that takes their type
        (only_missing: only to endpoints that have not yet answered 2xx for that event)."""
        await self.flush()
        sent: list[Delivery] = []
        async with self._bound_lock():
            done = {(d.event_id, d.endpoint_id) for d in self.deliveries if d.ok} if only_missing else set()
            for event in events:
                for endpoint in list(self.endpoints):
                    if endpoint.wants(event["type"]) and (event["id"], endpoint.id) not in done:
                        sent.append(await self._send(event, endpoint))
        return sent

    async def _send(self, event: dict[str, Any], endpoint: WebhookEndpoint) -> Delivery:
        payload = json.dumps(event, indent=2)
        # Stripe's receivers compare t with the real time (5 minutes' tolerance), so the wall clock
        # signs, never the fake one
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, endpoint.secret, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http().post(endpoint.url, content=payload.encode("utf-8"), headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = Delivery(event["id"], event["type"], endpoint.id, endpoint.url, timestamp, status, error)
        self.deliveries.append(delivery)
        if delivery.ok and event.get("pending_webhooks", 0) > 0:
            event["pending_webhooks"] -= 1
        return delivery

    def _bind(self) -> None:
        # the lock and the client belong to the loop they first ran on; a state later driven from
        # another loop (a second server, a test's own loop) gets fresh ones
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._lock = asyncio.Lock()
            self._client = None

    def _bound_lock(self) -> asyncio.Lock:
        self._bind()
        assert self._lock is not None
        return self._lock

    def _http(self) -> httpx.AsyncClient:
        self._bind()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None
