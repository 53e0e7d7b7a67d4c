"""/healthz: the process answers. /readyz: and it can reach the database."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import HTTPException
from sqlalchemy import text

from tenants.context import NO_CONTEXT


@get("/healthz", include_in_schema=False, name="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False, name="readyz")
async def readyz(request: Request[Any, Any, Any]) -> dict[str, str]:
    try:
        async with request.app.state.db.transaction(NO_CONTEXT) as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise HTTPException(status_code=503, detail="database unreachable") from exc
    return {"status": "ready"}


OPS_ROUTES = [healthz, readyz]
