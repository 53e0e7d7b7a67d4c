"""Every query on suppliers and customers. The party scope of the session is applied by default:
a supplier user's queries only ever see their own supplier, a customer user's only their own
customer (RLS enforces the same underneath)."""

from __future__ import annotations

from typing import Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, bindparam, false, func, or_, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import Customer, Supplier
from tenants.context import PartyKind, TenantContext
from tenants.isolation import context_of

PartyT = TypeVar("PartyT", Supplier, Customer)

# what the API shows of a party (backend/parties/schemas.PartyOut)
OUT_COLUMNS = ("id", "number", "name", "country", "email", "phone", "currency", "status", "created_at")
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated


class PartyRepository(Generic[PartyT]):
    model: type[PartyT]
    own_kind: PartyKind
    # built once per class: the API's one-object read is the hottest query there is
    _by_id: Select[tuple[PartyT]]

    # the same query as plain SQL for the driver (Database.read), compiled once from the model
    by_id_sql: str

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._by_id = select(cls.model).where(cls.model.id == bindparam("party_id"))
        table = cls.model.__table__
        columns = [table.c[name] for name in OUT_COLUMNS]
        cls.by_id_sql = str(select(*columns).where(table.c.id == bindparam("party_id")).compile(dialect=_DIALECT))

    @classmethod
    def in_scope(cls, context: TenantContext, party_id: UUID) -> bool:
        """Whether this context may see this party at all (the repository's scope, for one id)."""
        if context.party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
            return True
        return context.party_kind == cls.own_kind and party_id == context.party_id

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self) -> Select[tuple[PartyT]]:
        """Every party of this kind the session's context may see: the start of every list."""
        context = context_of(self.session)
        query = select(self.model)
        if context.party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
            return query
        if context.party_kind == self.own_kind:
            return query.where(self.model.id == context.party_id)
        return query.where(false())

    async def get(self, party_id: UUID) -> PartyT | None:
        # the same scope as scoped(), decided here so the prepared statement never changes
        if not self.in_scope(context_of(self.session), party_id):
            return None
        result: PartyT | None = await self.session.scalar(self._by_id, {"party_id": party_id})
        return result

    async def by_number(self, number: str) -> PartyT | None:
        result: PartyT | None = await self.session.scalar(self.scoped().where(self.model.number == number))
        return result

    async def search(self, request: PageRequest, *, text: str = "", status: str = "") -> Page[PartyT]:
        query = self.scoped()
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
