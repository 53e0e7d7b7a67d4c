"""Every query on suppliers and customers. The party scope of the session is applied by default:
a supplier user's queries only ever see their own supplier, a customer user's only their own
customer (RLS enforces the same underneath)."""

from __future__ import annotations

from typing import Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, bindparam, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import Customer, Supplier
from tenants.context import PartyKind
from tenants.isolation import context_of

PartyT = TypeVar("PartyT", Supplier, Customer)


class PartyRepository(Generic[PartyT]):
    model: type[PartyT]
    own_kind: PartyKind
    # built once per class: the API's one-object read is the hottest query there is
    _by_id: Select[tuple[PartyT]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._by_id = select(cls.model).where(cls.model.id == bindparam("party_id"))

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self) -> Select[tuple[PartyT]]:
        context = context_of(self.session)
        query = select(self.model)
        if context.party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
            return query
        if context.party_kind == self.own_kind:
            return query.where(self.model.id == context.party_id)
        return query.where(false())

    async def get(self, party_id: UUID) -> PartyT | None:
        context = context_of(self.session)
        # the same scope as _scoped(), decided here so the prepared statement never changes
        if context.party_kind not in (PartyKind.STAFF, PartyKind.SYSTEM) and (
            context.party_kind != self.own_kind or party_id != context.party_id
        ):
            return None
        result: PartyT | None = await self.session.scalar(self._by_id, {"party_id": party_id})
        return result

    async def by_number(self, number: str) -> PartyT | None:
        result: PartyT | None = await self.session.scalar(self._scoped().where(self.model.number == number))
        return result

    async def search(self, request: PageRequest, *, text: str = "", status: str = "") -> Page[PartyT]:
        query = self._scoped()
        if text:
            pattern = f"%{text}%"
            query = query.where(
                or_(self.model.name.ilike(pattern), self.model.number.ilike(pattern), self.model.email.ilike(pattern))
            )
        if status:
            query = query.where(self.model.status == status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(self.model.name, self.model.id).limit(request.size).offset(request.offset)
        )
        return Page(items=list(rows), total=total or 0, request=request)

    async def add(self, party: PartyT) -> PartyT:
        self.session.add(party)
        await self.session.flush()
        return party


class SupplierRepository(PartyRepository[Supplier]):
    model = Supplier
    own_kind = PartyKind.SUPPLIER


class CustomerRepository(PartyRepository[Customer]):
    model = Customer
    own_kind = PartyKind.CUSTOMER
