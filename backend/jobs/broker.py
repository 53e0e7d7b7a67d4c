"""The dramatiq broker: Redis or RabbitMQ as BROKER_URL says, and the entry of `merkato worker`.

dramatiq binds an actor to the global broker when the actor is declared, so the broker must be
installed before any tasks module is imported; `install` does both, in that order. The worker
processes start from `dramatiq backend.jobs.broker:setup`, which calls it with the settings.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from backend.settings import SettingsError, get_settings

BACKEND = Path(__file__).resolve().parent.parent


def broker_for(url: str) -> dramatiq.Broker:
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss"):
        return RedisBroker(url=url)  # type: ignore[no-untyped-call]  # dramatiq leaves it unannotated
    if scheme in ("amqp", "amqps"):
        return RabbitmqBroker(url=url)
    raise SettingsError("BROKER_URL must be a redis://, rediss://, amqp:// or amqps:// URL")


def actor_modules() -> list[str]:
    """Every backend/<package>/tasks.py, where the actors of a domain are declared."""
    return sorted(f"backend.{path.parent.name}.tasks" for path in BACKEND.glob("*/tasks.py"))


def install(url: str | None) -> dramatiq.Broker:
    """Make the broker for `url` dramatiq's global broker, then declare every actor on it.

    Without a URL (embedded mode) an in-memory StubBroker stands in: `merkato serve` drains it
    with a worker in its own process, and the outbox makes that durable across restarts.
    """
    broker = broker_for(url) if url else StubBroker()
    dramatiq.set_broker(broker)
    for module in actor_modules():
        importlib.import_module(module)
    return broker


def setup() -> None:
    """The `dramatiq` command line's hook: called once in every worker process."""
    install(get_settings().broker_url)
