"""The baseline: the least a Litestar server can do to answer the same request.

One asyncpg pool (as many connections as the app's pool), one `fetchrow` by primary key from the
same suppliers table, the same columns as the API's PartyOut, encoded by Litestar's msgspec
serializer. No host dispatch, no auth, no transaction, no tenant context, no ORM: the ratio of
the real app to this is what all of those cost together.

Run by bench/run.py as `uvicorn --factory bench.baseline:create_app`; it reads
BENCH_DATABASE_URL (an owner URL: the owner bypasses RLS, so no context has to be set),
BENCH_TENANT_ID and BENCH_POOL_SIZE.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

# The columns of backend.parties.schemas.PartyOut, so both servers send the same JSON document.
COLUMNS = "id, number, name, country, email, phone, currency, status, created_at"
# The primary key is (tenant_id, id); naming both makes this a single index probe, like the
# app's query, whose RLS policy supplies the tenant_id half.
QUERY = f"SELECT {COLUMNS} FROM suppliers WHERE tenant_id = $1 AND id = $2"


@get("/suppliers/{supplier_id:uuid}")
async def get_supplier(state: State, supplier_id: UUID) -> dict[str, Any]:
    row = await state.pool.fetchrow(QUERY, state.tenant_id, supplier_id)
    if row is None:
        raise NotFoundException()
    return dict(row)


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    pool_size = int(os.environ["BENCH_POOL_SIZE"])

    async def open_pool(app: Litestar) -> None:
        # min_size = max_size: every connection is opened before the first request, as a warmed
        # SQLAlchemy pool would have them.
        app.state.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)

    async def close_pool(app: Litestar) -> None:
        await app.state.pool.close()

    return Litestar(
        route_handlers=[get_supplier],
        state=State({"tenant_id": UUID(os.environ["BENCH_TENANT_ID"])}),
        on_startup=[open_pool],
        on_shutdown=[close_pool],
        openapi_config=None,
        debug=False,
    )
