"""Reads of the party master: the staff dashboard's overview of a workspace (how many suppliers,
customers, items and staff users it has, and where its suppliers are), and the one supplier
search the staff list, its CSV export and the JSON API share. A supplier user's search finds only
their own supplier (the repository's party scope; RLS enforces the same underneath)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import (
    Customer,
    Item,
    Membership,
    MembershipKind,
    Supplier,
    SupplierCategory,
    SupplierQualification,
)
from backend.parties.repository import SupplierRepository


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


# --- the supplier search ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupplierFilter:
    """`text` matches name, trading name, number, e-mail, tax id (letters and digits only, so
    "DE 136 695 976" finds DE136695976) and category name or code."""

    text: str = ""
    status: str = ""
    risk: str = ""
    qualification: str = ""


def _matching(session: AsyncSession, filters: SupplierFilter) -> Select[tuple[Supplier]]:
    query = SupplierRepository(session).scoped()
    if text := filters.text:
        in_category = (
            select(SupplierQualification.id)
            .join(SupplierCategory, SupplierCategory.id == SupplierQualification.category_id)
            .where(
                SupplierQualification.supplier_id == Supplier.id,
                or_(
                    SupplierCategory.name.icontains(text, autoescape=True),
                    SupplierCategory.code.icontains(text, autoescape=True),
                ),
            )
            .exists()
        )
        matches: list[ColumnElement[bool]] = [
            Supplier.name.icontains(text, autoescape=True),
            Supplier.trading_name.icontains(text, autoescape=True),
            Supplier.number.icontains(text, autoescape=True),
            Supplier.email.icontains(text, autoescape=True),
            in_category,
        ]
        if compact := "".join(ch for ch in text if ch.isalnum()).upper():
            matches.append(func.upper(func.regexp_replace(Supplier.tax_id, "[^A-Za-z0-9]", "", "g")).contains(compact))
        query = query.where(or_(*matches))
    if filters.status:
        query = query.where(Supplier.status == filters.status)
    if filters.risk:
        query = query.where(Supplier.risk_tier == filters.risk)
    if filters.qualification:
        query = query.where(
            select(SupplierQualification.id)
            .where(
                SupplierQualification.supplier_id == Supplier.id,
                SupplierQualification.status == filters.qualification,
            )
            .exists()
        )
    return query


async def search_suppliers(session: AsyncSession, filters: SupplierFilter, request: PageRequest) -> Page[Supplier]:
    """One page of the matching suppliers, by name."""
    query = _matching(session, filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Supplier.name, Supplier.id).limit(request.size).offset(request.offset))
    return Page(items=list(rows), total=total or 0, request=request)


@dataclass(frozen=True, slots=True)
class ExportRow:
    supplier: Supplier
    categories: list[tuple[str, str]]  # (category name, qualification status), by name


async def export_batches(
    session: AsyncSession, filters: SupplierFilter, *, size: int = 500
) -> AsyncIterator[list[ExportRow]]:
    """Every matching supplier, by name, a batch at a time (keyset paging, so a long export
    neither skips nor repeats a row when suppliers are added meanwhile). Each batch is let go
    of once the next one is asked for: nothing is held in memory but one batch."""
    after: tuple[str, UUID] | None = None
    while True:
        query = _matching(session, filters).order_by(Supplier.name, Supplier.id).limit(size)
        if after is not None:
            query = query.where(tuple_(Supplier.name, Supplier.id) > tuple_(literal(after[0]), literal(after[1])))
        batch = list(await session.scalars(query))
        if not batch:
            return
        categories: dict[UUID, list[tuple[str, str]]] = {}
        standings = await session.execute(
            select(SupplierQualification.supplier_id, SupplierCategory.name, SupplierQualification.status)
            .join(SupplierCategory, SupplierCategory.id == SupplierQualification.category_id)
            .where(SupplierQualification.supplier_id.in_([supplier.id for supplier in batch]))
            .order_by(SupplierCategory.name)
        )
        for supplier_id, name, standing in standings.tuples():
            categories.setdefault(supplier_id, []).append((name, standing))
        yield [ExportRow(supplier, categories.get(supplier.id, [])) for supplier in batch]
        session.expunge_all()
        after = (batch[-1].name, batch[-1].id)
