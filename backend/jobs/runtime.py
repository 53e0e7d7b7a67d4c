"""Where jobs run: in each `merkato worker` process, or inside `merkato serve` in embedded mode.

Both are dramatiq workers with the AsyncIO middleware: async jobs run on one event loop per
process, and that loop also hosts the relay. Database engines are made on that loop, lazily,
because asyncpg connections belong to the loop that opened them.

Actors are declared when the broker is installed (here), not when tasks modules are imported, so
importing a domain never needs a broker. The worker processes of `merkato worker` start from
`dramatiq backend.jobs.runtime:setup`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from backend.jobs.broker import QUEUE, BatchingPublisher, broker_for, load_jobs, publisher
from backend.jobs.consumer import RetryPolicy, run_job
from backend.jobs.periodic import PERIODIC
from backend.jobs.registry import REGISTRY
from backend.jobs.relay import Relay
from backend.kit.db import RELAY_ROLE, make_engine
from backend.settings import Settings, SettingsError, get_settings
from tenants.isolation import Database

log = logging.getLogger("merkato.jobs")


@dataclass
class WorkerRuntime:
    settings: Settings
    broker: dramatiq.Broker
    pool_size: int = 8
    _db: Database | None = field(default=None, init=False)

    @property
    def owner_url(self) -> str:
        if not self.settings.database_url:
            raise SettingsError("DATABASE_URL is not set for the worker")
        return self.settings.database_url

    def db(self) -> Database:
        """The app-role database for jobs; jobs may enqueue further jobs, published on commit."""
        if self._db is None:
            self._db = Database.connect(
                self.owner_url,
                self.settings.database_app_url,
                pool_size=self.pool_size,
                publish=BatchingPublisher(self.broker),
            )
        return self._db

    def relay(self) -> Relay:
        engine = make_engine(self.settings.database_app_url or self.owner_url, role=RELAY_ROLE, pool_size=2)
        return Relay(
            Database(engine),
            publisher(self.broker),
            republish_after=timedelta(seconds=self.settings.job_republish_seconds),
            periodic=PERIODIC,
        )

    async def run(self, actor: str, tenant_id: UUID, outbox_id: UUID) -> None:
        policy = RetryPolicy(self.settings.job_max_attempts, self.settings.job_retry_seconds)
        outcome = await run_job(self.db(), policy, actor, tenant_id, outbox_id)
        log.debug("job %s %s: %s", actor, outbox_id, outcome)


_runtime: WorkerRuntime | None = None


def worker_runtime() -> WorkerRuntime:
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime(get_settings(), dramatiq.get_broker())
    return _runtime


def use_runtime(runtime: WorkerRuntime) -> None:
    """Set this process's runtime explicitly (embedded mode and tests)."""
    global _runtime
    _runtime = runtime


def _declare(broker: dramatiq.Broker, name: str) -> None:
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


class RelayMiddleware(dramatiq.Middleware):
    """Runs the relay on the worker's event loop for as long as the worker runs."""

    def __init__(self) -> None:
        self._future: concurrent.futures.Future[None] | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        assert loop_thread is not None, "the AsyncIO middleware must come first"
        runtime = worker_runtime()

        async def relay_forever() -> None:
            await runtime.relay().run()

        self._future = asyncio.run_coroutine_threadsafe(relay_forever(), loop_thread.loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._future is not None:
            self._future.cancel()


class EmbeddedWorker:
    """`merkato serve` without BROKER_URL: an in-memory broker drained by worker threads in the
    server's own process, with the relay; the outbox keeps jobs durable across restarts."""

    def __init__(self, settings: Settings, threads: int = 4) -> None:
        self.broker = install(None)
        self.broker.add_middleware(RelayMiddleware())
        use_runtime(WorkerRuntime(settings, self.broker, pool_size=threads + 1))
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()


def setup() -> None:
    """The `dramatiq` command line's hook: called once in every worker process."""
    broker = install(get_settings().broker_url)
    broker.add_middleware(RelayMiddleware())
