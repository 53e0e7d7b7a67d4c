"""The dramatiq broker: Redis or RabbitMQ as BROKER_URL says, every domain's jobs loaded, and the
publisher that hands committed outbox rows to it. The actors are declared on it by
backend.jobs.runtime, whose worker runs them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from backend.jobs.outbox import Dispatch
from backend.settings import SettingsError
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
