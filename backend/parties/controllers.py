"""JSON API for suppliers and customers. Staff see all of their tenant's; a supplier or customer
user sees only their own company (anything else answers 404)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter

from backend.authz.guards import staff_permission_or_party
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.kit.pagination import PageRequest
from backend.parties.repository import CustomerRepository, PartyRepository, SupplierRepository
from backend.parties.schemas import PartyOut, PartyPage

PageNumber = Annotated[int, QueryParameter(ge=1)]
PageSize = Annotated[int, QueryParameter(ge=1, le=100)]


async def _page(repository: PartyRepository[Any], q: str, status: str, page: int, size: int) -> PartyPage:
    found = await repository.search(PageRequest(page=page, size=size), text=q.strip(), status=status)
    return PartyPage(items=[PartyOut.of(p) for p in found.items], total=found.total, page=page, size=size)


async def _one(repository: PartyRepository[Any], party_id: FromPath[UUID]) -> PartyOut:
    party = await repository.get(party_id)
    if party is None:
        raise NotFoundException()
    return PartyOut.of(party)


class SupplierController(Controller):
    path = "/api/v1/suppliers"
    tags = ["suppliers"]
    guards = [staff_permission_or_party(Permission.VIEW_SUPPLIERS)]

    @get("/")
    async def list_suppliers(
        self, db: Db, q: FromQuery[str] = "", status: FromQuery[str] = "", page: PageNumber = 1, size: PageSize = 25
    ) -> PartyPage:
        return await _page(SupplierRepository(db), q, status, page, size)

    @get("/{supplier_id:uuid}")
    async def get_supplier(self, db: Db, supplier_id: FromPath[UUID]) -> PartyOut:
        return await _one(SupplierRepository(db), supplier_id)


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]
    guards = [staff_permission_or_party(Permission.VIEW_CUSTOMERS)]

    @get("/")
    async def list_customers(
        self, db: Db, q: FromQuery[str] = "", status: FromQuery[str] = "", page: PageNumber = 1, size: PageSize = 25
    ) -> PartyPage:
        return await _page(CustomerRepository(db), q, status, page, size)

    @get("/{customer_id:uuid}")
    async def get_customer(self, db: Db, customer_id: FromPath[UUID]) -> PartyOut:
        return await _one(CustomerRepository(db), customer_id)
