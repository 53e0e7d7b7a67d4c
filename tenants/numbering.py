"""Human document numbers (SUP-00042) from the per-tenant counter table, gap-free per tenant."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Counter
from tenants.isolation import context_of


async def next_number(session: AsyncSession, key: str, prefix: str, width: int = 5) -> str:
    """Increment the counter in this transaction (the row lock serialises concurrent callers)."""
    tenant_id = context_of(session).tenant_id
    statement = (
        insert(Counter)
        .values(tenant_id=tenant_id, key=key, value=1)
        .on_conflict_do_update(index_elements=[Counter.tenant_id, Counter.key], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    value = (await session.execute(statement)).scalar_one()
    return f"{prefix}-{value:0{width}d}"
