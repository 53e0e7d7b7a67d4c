"""Failed jobs page: admins see their own tenant's failed jobs and can retry them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.jobs.broker import load_jobs
from backend.models import JobStatus, OutboxJob
from tenants.context import TenantContext
from tenants.isolation import Database


async def _failed_job(db: Database, tenant_id: Any, error: str) -> Any:
    load_jobs()
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        job = OutboxJob(
            tenant_id=tenant_id,
            actor="auth.purge_expired",
            args={},
            status=JobStatus.FAILED,
            attempts=5,
            last_error=error,
        )
        session.add(job)
        await session.flush()
        return job.id


async def test_admin_sees_and_retries_own_failed_jobs_only(browser: Any, db: Database, demo: Any) -> None:
    acme, globex = demo.tenants["acme"].id, demo.tenants["globex"].id
    acme_job = await _failed_job(db, acme, "SMTPServerDisconnected: acme mail relay down")
    globex_job = await _failed_job(db, globex, "TimeoutError: globex renderer stuck")

    admin = browser()
    await admin.login("admin@acme.test")
    listing = await admin.get("/admin/jobs")
    assert listing.status_code == 200
    assert "acme mail relay down" in listing.text
    assert "globex renderer stuck" not in listing.text
    assert (await admin.post_form(f"/admin/jobs/{globex_job}/retry")).status_code == 404

    retried = await admin.post_form(f"/admin/jobs/{acme_job}/retry")
    assert retried.status_code == 303
    async with db.transaction(TenantContext.system(acme)) as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.id == acme_job))
    assert job is not None
    assert job.status == JobStatus.PENDING
    assert job.attempts == 0
    assert "acme mail relay down" not in (await admin.get("/admin/jobs")).text

    supplier = browser()
    await supplier.login("supplier@acme.test")
    assert (await supplier.get("/admin/jobs")).status_code == 404
