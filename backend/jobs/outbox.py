"""Writing work into the outbox, in the caller's transaction.

`enqueue` adds a row; after the transaction commits the row is published to the broker at once
(when the Database has a publisher) and the relay republishes anything not done in time.
An idempotency key makes enqueueing the same work twice one job; `cancel` stops a timer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Boolean, ColumnElement, DateTime, Table, bindparam, case, func, null, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.registry import REGISTRY
from backend.kit.ids import new_id
from backend.kit.pagination import Page, PageRequest
from backend.models import JobStatus, OutboxJob
from tenants.isolation import PUBLISH_KEY, PUBLISHER_KEY, context_of, driver_of


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What the broker needs to run one outbox row."""

    actor: str
    tenant_id: UUID
    outbox_id: UUID


def _json_ready(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# Built once, against the table rather than the mapped class: constructing an INSERT per call,
# or running it through the ORM's bulk-insert machinery, cost more than executing it.
_OUTBOX = cast(Table, OutboxJob.__table__)
_INSERT = (
    insert(_OUTBOX)
    .values(
        tenant_id=bindparam("tenant_id"),
        actor=bindparam("actor"),
        args=bindparam("args", type_=JSONB),
        key=bindparam("key"),
        run_at=func.coalesce(bindparam("run_at", type_=DateTime(timezone=True)), func.now()),
        published_at=case((bindparam("publish", type_=Boolean), func.now()), else_=null()),
        status=JobStatus.PENDING,
        attempts=0,
    )
    # no RETURNING: the status line says whether the row went in, and nothing is read back
    .on_conflict_do_nothing(index_elements=[_OUTBOX.c.tenant_id, _OUTBOX.c.key])
)
# Every write that asks for work runs this, so it goes straight to the driver, compiled once;
# the assert pins the order of the parameters passed in enqueue.
_COMPILED = _INSERT.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
_INSERT_SQL = str(_COMPILED)
assert _COMPILED.positiontup == ["tenant_id", "id", "actor", "args", "key", "run_at", "status", "attempts", "publish"]


async def enqueue(
    session: AsyncSession, actor: str, *, run_at: datetime | None = None, key: str | None = None, **args: Any
) -> UUID | None:
    """Add a job to this transaction; returns its outbox id: the existing one for a repeated key,
    or None for a repeated key whose job this context may not read (a party reads only the jobs
    its own person asked for)."""
    if actor not in REGISTRY:
        raise ValueError(f"no job named {actor!r}")
    tenant_id = context_of(session).tenant_id
    if tenant_id is None:
        raise ValueError("jobs belong to a tenant: enqueue needs a tenant context")
    now = datetime.now(UTC)
    due_now = run_at is None or run_at <= now
    # published_at marks "the committer will publish this": the relay then waits its timeout
    # before republishing. Rows nobody will publish at commit are the relay's at its next sweep.
    will_publish = due_now and bool(session.info.get(PUBLISHER_KEY))
    driver = await driver_of(session)
    job_id = new_id()
    status: str = await driver.execute(
        _INSERT_SQL,
        tenant_id,
        job_id,
        actor,
        json.dumps({name: _json_ready(value) for name, value in args.items()}),
        key,
        run_at,
        JobStatus.PENDING.value,
        0,
        will_publish,
    )
    if status == "INSERT 0 0":  # the key exists: that job is this job
        # the tenant filter too, not RLS alone: keys are unique per tenant only
        existing: UUID | None = await session.scalar(
            select(OutboxJob.id).where(OutboxJob.tenant_id == tenant_id, OutboxJob.key == key)
        )
        return existing
    if will_publish:
        session.info.setdefault(PUBLISH_KEY, []).append(Dispatch(actor, tenant_id, job_id))
    return job_id


def _own_tenant(session: AsyncSession) -> ColumnElement[bool]:
    """The tenant filter every query here carries besides RLS (DESIGN.md §2: two walls). Without a
    tenant in the context it matches nothing, as RLS does."""
    return OutboxJob.tenant_id == context_of(session).tenant_id


async def cancel(session: AsyncSession, key: str) -> bool:
    """Cancel a pending job (e.g. a deadline timer that moved); False if it already ran or is gone."""
    result = await session.execute(
        update(OutboxJob)
        .where(_own_tenant(session), OutboxJob.key == key, OutboxJob.status == JobStatus.PENDING)
        .values(status=JobStatus.CANCELLED)
        .returning(OutboxJob.id)
    )
    return result.first() is not None


async def failed_jobs(session: AsyncSession, request: PageRequest, *, actor: str = "") -> Page[OutboxJob]:
    query = select(OutboxJob).where(_own_tenant(session), OutboxJob.status == JobStatus.FAILED)
    if actor:
        query = query.where(OutboxJob.actor == actor)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(OutboxJob.done_at.desc().nulls_last()).limit(request.size).offset(request.offset)
    )
    return Page(items=list(rows), total=total or 0, request=request)


async def retry(session: AsyncSession, job_id: UUID) -> bool:
    """Give a failed job a fresh set of attempts, due now; the relay picks it up."""
    result = await session.execute(
        update(OutboxJob)
        .where(_own_tenant(session), OutboxJob.id == job_id, OutboxJob.status == JobStatus.FAILED)
        .values(status=JobStatus.PENDING, attempts=0, run_at=func.now(), published_at=None, done_at=None)
        .returning(OutboxJob.id)
    )
    return result.first() is not None
