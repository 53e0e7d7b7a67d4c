"""Every query on items."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import Item


async def search_items(session: AsyncSession, request: PageRequest, *, text: str = "") -> Page[Item]:
    query = select(Item)
    if text:
        query = query.where(or_(Item.sku.ilike(f"%{text}%"), Item.name.ilike(f"%{text}%")))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Item.sku).limit(request.size).offset(request.offset))
    return Page(items=list(rows), total=total or 0, request=request)
