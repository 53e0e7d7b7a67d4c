"""Human document numbers (SUP-00042) from the per-tenant counter table, gap-free per tenant."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Counter
from tenants.isolation import context_of

# Built once, on the table: a Core upsert, not the ORM's bulk-insert path.
_COUNTERS = cast(Table, Counter.__table__)
_NEXT = (
    insert(_COUNTERS)
    .values(tenant_id=bindparam("tenant_id"), key=bindparam("key"), value=1)
    .on_conflict_do_update(
        index_elements=[_COUNTERS.c.tenant_id, _COUNTERS.c.key], set_={"value": _COUNTERS.c.value + 1}
    )
    .returning(_COUNTERS.c.value)
)


async def next_number(session: AsyncSession, key: str, prefix: str, width: int = 5) -> str:
    """Increment the counter in this transaction (the row lock serialises concurrent callers).
    A key starting with `party.` names a counter a supplier's or customer's people may take in
    their own context, for what they number themselves (migration 0011); the rest are staff's."""
    tenant_id = context_of(session).tenant_id
    value = (await session.execute(_NEXT, {"tenant_id": tenant_id, "key": key})).scalar_one()
    return f"{prefix}-{value:0{width}d}"
