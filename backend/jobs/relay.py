"""The relay: publishes committed jobs nobody published (or whose delivery was lost), fires
durable timers when they fall due, and schedules periodic jobs.

It runs as merkato_relay, which sees the outbox of every tenant and nothing else, and claims
rows with FOR UPDATE SKIP LOCKED, so any number of relays can sweep at once without
publishing a row twice in one sweep — and a row a worker is running (locked) is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql import func

from backend.jobs.outbox import Dispatch
from backend.jobs.periodic import Periodic
from backend.models import JobStatus, OutboxJob, Tenant, TenantStatus
from tenants.context import TenantContext
from tenants.isolation import Database, Publish

log = logging.getLogger("merkato.relay")

BATCH = 500


class Relay:
    def __init__(
        self,
        db: Database,
        publish: Publish,
        *,
        republish_after: timedelta,
        periodic: Sequence[Periodic] = (),
        interval: float = 1.0,
    ) -> None:
        self.db = db  # connected as merkato_relay
        self.publish = publish
        self.republish_after = republish_after
        self.periodic = periodic
        self.interval = interval
        self._scheduled: set[str] = set()

    async def sweep(self) -> int:
        """Publish due rows that are unpublished or stale; returns how many."""
        now = datetime.now(UTC)
        async with self.db.transaction(TenantContext.system(None)) as session:
            rows = (
                await session.execute(
                    select(OutboxJob.tenant_id, OutboxJob.id, OutboxJob.actor)
                    .where(
                        OutboxJob.status == JobStatus.PENDING,
                        OutboxJob.run_at <= func.now(),
                        or_(
                            OutboxJob.published_at.is_(None),
                            OutboxJob.published_at < now - self.republish_after,
                        ),
                    )
                    .order_by(OutboxJob.run_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            dispatches = [Dispatch(actor, tenant_id, job_id) for tenant_id, job_id, actor in rows]
            await self.publish(dispatches)
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_([d.outbox_id for d in dispatches]))
                .values(published_at=func.now())
            )
        return len(dispatches)

    async def schedule_periodic(self) -> int:
        """Enqueue the current period's run of every periodic job in every active tenant."""
        now = datetime.now(UTC)
        due = [(p, p.period_start(now)) for p in self.periodic]
        fresh = [(p, start) for p, start in due if p.key(start) not in self._scheduled]
        if not fresh:
            return 0
        added = 0
        async with self.db.transaction(TenantContext.system(None)) as session:
            tenants = list(await session.scalars(select(Tenant.id).where(Tenant.status == TenantStatus.ACTIVE)))
            for periodic, start in fresh:
                for tenant_id in tenants:
                    result = await session.execute(
                        insert(OutboxJob)
                        .values(
                            tenant_id=tenant_id,
                            actor=periodic.actor,
                            args={},
                            key=periodic.key(start),
                            run_at=start,
                            status=JobStatus.PENDING,
                            attempts=0,
                        )
                        .on_conflict_do_nothing(index_elements=[OutboxJob.tenant_id, OutboxJob.key])
                        .returning(OutboxJob.id)
                    )
                    added += len(result.all())
        # Only the current periods' keys: a period never comes back, and a set of every key ever
        # made would grow by one per period for as long as the process lives.
        self._scheduled = {periodic.key(start) for periodic, start in due}
        return added

    async def run(self) -> None:
        """Sweep forever (until cancelled); an error is logged and the next tick tries again."""
        while True:
            try:
                await self.schedule_periodic()
                while await self.sweep() == BATCH:
                    pass  # a backlog: keep going without waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay sweep failed")
            await asyncio.sleep(self.interval)
