"""The dramatiq broker: Redis or RabbitMQ as BROKER_URL says (an in-memory one in embedded
mode), the actors declared on it from the job registry, and the publisher that hands committed
outbox rows to it.

Actors are declared when the broker is installed, not when tasks modules are imported, so
importing a domain never needs a broker. The worker processes of `merkato worker` start from
`dramatiq backend.jobs.broker:setup`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from pathlib import Path
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from backend.jobs.outbox import Dispatch
from backend.jobs.registry import REGISTRY
from backend.settings import SettingsError, get_settings
from tenants.isolation import Publish

log = logging.getLogger("merkato.jobs")

BACKEND = Path(__file__).resolve().parent.parent
QUEUE = "merkato"


def broker_for(url: str) -> dramatiq.Broker:
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss"):
        return RedisBroker(url=url)  # type: ignore[no-untyped-call]  # dramatiq leaves it unannotated
    if scheme in ("amqp", "amqps"):
        return RabbitmqBroker(url=url)
    raise SettingsError("BROKER_URL must be a redis://, rediss://, amqp:// or amqps:// URL")


def actor_modules() -> list[str]:
    """Every backend/<package>/tasks.py, where the jobs of a domain are declared."""
    return sorted(f"backend.{path.parent.name}.tasks" for path in BACKEND.glob("*/tasks.py"))


def load_jobs() -> None:
    for module in actor_modules():
        importlib.import_module(module)


def _declare(broker: dramatiq.Broker, name: str) -> None:
    # imported here: the worker runtime pulls in settings and the database only when needed
    from backend.jobs.runtime import worker_runtime

    async def entry(tenant_id: str, outbox_id: str) -> None:
        await worker_runtime().run(name, UUID(tenant_id), UUID(outbox_id))

    # retries are the outbox's business (durable, visible, with backoff), not the broker's
    dramatiq.actor(actor_name=name, queue_name=QUEUE, broker=broker, max_retries=0)(entry)


def install(url: str | None) -> dramatiq.Broker:
    """Make the broker for `url` dramatiq's global broker and declare every job on it.

    Without a URL (embedded mode) an in-memory StubBroker stands in: `merkato serve` drains it
    with a worker in its own process, and the outbox makes that durable across restarts.
    """
    broker = broker_for(url) if url else StubBroker()
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    load_jobs()
    for name in sorted(REGISTRY):
        _declare(broker, name)
    return broker


def _message(dispatch: Dispatch) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name=QUEUE,
        actor_name=dispatch.actor,
        args=(),
        kwargs={"tenant_id": str(dispatch.tenant_id), "outbox_id": str(dispatch.outbox_id)},
        options={},
    )


def publisher(broker: dramatiq.Broker) -> Publish:
    """Hand outbox rows to the broker and wait until it has them (the relay's way: it marks
    rows published only after this returns). Off the event loop: broker clients block."""

    def enqueue_all(dispatches: list[Dispatch]) -> None:
        for dispatch in dispatches:
            broker.enqueue(_message(dispatch))

    async def publish(dispatches: list[Dispatch]) -> None:
        await asyncio.to_thread(enqueue_all, dispatches)

    return publish


class BatchingPublisher:
    """The after-commit publisher of the web and worker processes: a committing request only
    queues its rows and goes on; one background task per event loop hands whatever piled up to
    the broker in one batch. A row lost with the process is the relay's to publish."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._publish = publisher(broker)
        self._pending: list[Dispatch] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, dispatches: list[Dispatch]) -> None:
        self._pending.extend(dispatches)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._drain())
        assert self._wake is not None
        self._wake.set()

    async def _drain(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._publish(batch)
                except Exception:
                    log.warning("publishing %d job(s) failed; the relay will", len(batch), exc_info=True)


def setup() -> None:
    """The `dramatiq` command line's hook: called once in every worker process."""
    from backend.jobs.runtime import RelayMiddleware

    broker = install(get_settings().broker_url)
    broker.add_middleware(RelayMiddleware())
