"""The staff dashboard's overview of a workspace: how many suppliers, customers, items and staff
users it has, and where its suppliers are. (Each kind's own list is its repository's search.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Customer, Item, Membership, MembershipKind, Supplier


@dataclass(frozen=True, slots=True)
class Overview:
    suppliers: int
    customers: int
    items: int
    staff: int
    suppliers_by_country: list[tuple[str, int]]  # (ISO country code, suppliers), by code


async def overview(session: AsyncSession) -> Overview:
    counts = (
        await session.execute(
            select(
                select(func.count()).select_from(Supplier).scalar_subquery(),
                select(func.count()).select_from(Customer).scalar_subquery(),
                select(func.count()).select_from(Item).scalar_subquery(),
                select(func.count()).where(Membership.kind == MembershipKind.STAFF).scalar_subquery(),
            )
        )
    ).one()
    by_country = await session.execute(
        select(Supplier.country, func.count()).group_by(Supplier.country).order_by(Supplier.country)
    )
    suppliers, customers, items, staff = counts
    return Overview(suppliers, customers, items, staff, list(by_country.tuples()))
