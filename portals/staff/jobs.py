"""Failed background jobs of this tenant, for its admins: what failed, why, and a retry button."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.jobs.outbox import failed_jobs, retry
from backend.kit.ids import parse_id
from backend.kit.pagination import PageRequest


@get("/admin/jobs", guards=[staff(Permission.MANAGE_USERS)], name="failed_jobs")
async def failed_job_list(db: Db, actor: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    found = await failed_jobs(db, PageRequest.clamp(page, 25), actor=actor.strip())
    return Template(template_name="staff/failed_jobs.html", context={"page": found, "actor": actor})


@post("/admin/jobs/{job_id:str}/retry", guards=[staff(Permission.MANAGE_USERS)], name="retry_job")
async def retry_job(request: Request[Any, Any, Any], db: Db, job_id: FromPath[str]) -> Response[Any]:
    parsed = parse_id(job_id)
    if parsed is None or not await retry(db, parsed):
        raise NotFoundException()
    return Redirect(path="/admin/jobs", status_code=303)


JOB_ROUTES = [failed_job_list, retry_job]
