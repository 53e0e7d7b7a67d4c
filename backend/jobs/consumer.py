"""Running one outbox job: exactly once, in its tenant's context.

The row is locked FOR UPDATE for the whole run, so a second delivery of the same job waits and
then finds it done; the effect and the "done" mark commit together. A failure rolls the effect
back to a savepoint and records the attempt in the same transaction: the job is due again after
an exponential backoff (the relay republishes it), or failed for good after the last attempt —
visible to the tenant's admins, who can retry it — when the job's `on_give_up` runs too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select

from backend.jobs.registry import call, give_up
from backend.models import JobStatus, OutboxJob
from tenants.context import TenantContext
from tenants.isolation import Database

log = logging.getLogger("merkato.jobs")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: int

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), 3600))


async def run_job(db: Database, policy: RetryPolicy, actor: str, tenant_id: UUID, outbox_id: UUID) -> str:
    """Run the job if it is still pending; returns what happened (for logs and tests)."""
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        # due is read on the database's clock, the one the relay publishes by
        found = (
            await session.execute(
                select(OutboxJob, OutboxJob.run_at <= func.now()).where(OutboxJob.id == outbox_id).with_for_update()
            )
        ).first()
        if found is None or found[0].status != JobStatus.PENDING:
            return "skipped"  # done, cancelled or failed already: a repeated delivery
        row, due = found
        if row.actor != actor:
            log.error("outbox %s is %s, delivered as %s", outbox_id, row.actor, actor)
            return "skipped"
        if not due:
            # A message ahead of its job: a copy of an earlier delivery (a relay republish, a broker
            # requeue) arriving during a retry's backoff, or a timer moved later. Running it would
            # spend the attempts without backoff or fire the timer early; the relay publishes the
            # row again once it is due.
            return "early"
        row.attempts += 1
        try:
            async with session.begin_nested():
                await call(actor, session, dict(row.args))
        except Exception as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:4000]
            if row.attempts >= policy.max_attempts:
                row.status = JobStatus.FAILED
                row.done_at = datetime.now(UTC)
                log.error("job %s %s failed for good after %d attempts", actor, outbox_id, row.attempts, exc_info=exc)
                try:
                    async with session.begin_nested():
                        await give_up(actor, session, dict(row.args))
                except Exception:
                    # the failure is recorded whatever its clean-up does
                    log.exception("job %s %s: giving up failed too", actor, outbox_id)
                return "failed"
            row.run_at = datetime.now(UTC) + policy.delay(row.attempts)
            row.published_at = None
            log.warning("job %s %s failed (attempt %d), retrying", actor, outbox_id, row.attempts, exc_info=exc)
            return "retry"
        row.status = JobStatus.DONE
        row.done_at = datetime.now(UTC)
        row.last_error = None
        return "done"
