"""What the test workers start from: `python -m dramatiq tests.jobs.worker_entry:setup` (the tests
go through tests/jobs/launch.py, the same command line with the backend imported before the fork).

The same as `merkato worker` (backend.jobs.runtime.setup: the real broker, actors, AsyncIO and the
relay), plus the test jobs, and a runtime that records what each delivery came to in
chaos.deliveries: that is how the tests count redeliveries, which leave no other trace when they
find their job done already. Settings come from the environment as in production; CHAOS_PERIODIC
("actor|cron") adds one periodic job to this process's relay.
"""

from __future__ import annotations

import logging
import os
from uuid import UUID

import dramatiq
from sqlalchemy import text

import tests.jobs.effects  # registers the testjobs.* jobs before setup declares the actors
from backend.jobs import runtime
from backend.jobs.consumer import RetryPolicy, run_job
from backend.jobs.periodic import Periodic
from backend.jobs.relay import Relay
from backend.jobs.runtime import WorkerRuntime, use_runtime
from backend.settings import get_settings
from tenants.context import NO_CONTEXT

log = logging.getLogger("merkato.tests.worker")


class RecordingRuntime(WorkerRuntime):
    async def run(self, actor: str, tenant_id: UUID, outbox_id: UUID) -> None:
        # WorkerRuntime.run, keeping the outcome (and telling the job which row it runs)
        policy = RetryPolicy(self.settings.job_max_attempts, self.settings.job_retry_seconds)
        token = tests.jobs.effects.CURRENT_OUTBOX.set(outbox_id)
        try:
            outcome = await run_job(self.db(), policy, actor, tenant_id, outbox_id)
        finally:
            tests.jobs.effects.CURRENT_OUTBOX.reset(token)
        # A separate transaction after the job's own: a kill in between loses this record only, so
        # the counts are a lower bound of what happened, never an invention.
        async with self.db().transaction(NO_CONTEXT) as session:
            await session.execute(
                text(
                    f"INSERT INTO {tests.jobs.effects.SCHEMA}.deliveries (outbox_id, actor, outcome, worker_pid)"
                    " VALUES (:outbox, :actor, :outcome, :pid)"
                ),
                {"outbox": outbox_id, "actor": actor, "outcome": outcome, "pid": os.getpid()},
            )

    def relay(self) -> Relay:
        relay = super().relay()
        if spec := os.environ.get("CHAOS_PERIODIC"):
            actor, _, cron = spec.partition("|")
            relay.periodic = (*relay.periodic, Periodic(actor, cron))
        return relay


def setup() -> None:
    runtime.setup()
    # before any message or the relay asks for the runtime (both do so only once the worker boots)
    use_runtime(RecordingRuntime(get_settings(), dramatiq.get_broker()))
    log.info("test worker set up in process %d", os.getpid())
