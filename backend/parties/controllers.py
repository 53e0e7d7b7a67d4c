"""JSON API for suppliers and customers. Staff see all of their tenant's; a supplier or customer
user sees only their own company (anything else answers 404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, JSONBody

from backend.authz.guards import principal_of, staff, staff_permission_or_party
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.kit.api import PageNumber, PageSize, SearchText, body_checked, refusals
from backend.kit.forms import InvalidForm
from backend.kit.pagination import PageRequest
from backend.parties.repository import CustomerRepository, PartyRepository, SupplierRepository
from backend.parties.schemas import NewParty, PartyOut, PartyPage
from backend.parties.service import PartyForm, create_supplier
from tenants.billing.entitlements import LimitReached

# what each operation may answer besides its success (backend/kit/api.py says what each means)
LIST_REFUSALS = refusals(400, 401, 403)
ONE_REFUSALS = refusals(401, 403, 404)
# a party user is of the wrong audience for creating (404); staff may lack the permission, or the
# plan room for another supplier (403)
CREATE_REFUSALS = refusals(400, 401, 403, 404, 413)


async def _page(repository: PartyRepository[Any], q: str, status: str, page: int, size: int) -> PartyPage:
    found = await repository.search(PageRequest(page=page, size=size), text=q.strip(), status=status)
    return PartyPage(items=[PartyOut.of(p) for p in found.items], total=found.total, page=page, size=size)


async def _one(request: Request[Any, Any, Any], repository: type[PartyRepository[Any]], party_id: UUID) -> PartyOut:
    """The API's hottest read: scope checked first, then one prepared statement on the bare driver."""
    context = principal_of(request).context
    if not repository.in_scope(context, party_id):
        raise NotFoundException()
    async with request.app.state.db.read(context) as driver:
        row = await driver.fetchrow(repository.by_id_sql, party_id)
    if row is None:
        raise NotFoundException()
    return PartyOut(**dict(row))


class SupplierController(Controller):
    path = "/api/v1/suppliers"
    tags = ["suppliers"]
    guards = [staff_permission_or_party(Permission.VIEW_SUPPLIERS)]

    @get("/", responses=LIST_REFUSALS)
    async def list_suppliers(
        self,
        db: Db,
        q: SearchText = "",
        status: SearchText = "",
        page: PageNumber = 1,
        size: PageSize = 25,
    ) -> PartyPage:
        return await _page(SupplierRepository(db), q, status, page, size)

    @get("/{supplier_id:uuid}", responses=ONE_REFUSALS)
    async def get_supplier(self, request: Request[Any, Any, Any], supplier_id: FromPath[UUID]) -> PartyOut:
        return await _one(request, SupplierRepository, supplier_id)

    @post(
        "/",
        guards=[staff(Permission.MANAGE_SUPPLIERS)],
        status_code=201,
        responses=CREATE_REFUSALS,
        before_request=body_checked(NewParty, "Invalid supplier"),
    )
    async def create_supplier(self, db: Db, data: JSONBody[NewParty]) -> PartyOut:
        """Create a supplier (numbered SUP-…); the people who manage suppliers are notified."""
        form = msgspec.convert(msgspec.structs.asdict(data), PartyForm)
        try:
            supplier = await create_supplier(db, form)
        except LimitReached as refused:
            # the input is fine; the plan has no room for another supplier
            raise PermissionDeniedException(detail="Plan limit reached", extra=dict(refused.errors)) from refused
        except InvalidForm as rejected:
            raise ValidationException(detail="Invalid supplier", extra=dict(rejected.errors)) from rejected
        return PartyOut.of(supplier)


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]
    guards = [staff_permission_or_party(Permission.VIEW_CUSTOMERS)]

    @get("/", responses=LIST_REFUSALS)
    async def list_customers(
        self,
        db: Db,
        q: SearchText = "",
        status: SearchText = "",
        page: PageNumber = 1,
        size: PageSize = 25,
    ) -> PartyPage:
        return await _page(CustomerRepository(db), q, status, page, size)

    @get("/{customer_id:uuid}", responses=ONE_REFUSALS)
    async def get_customer(self, request: Request[Any, Any, Any], customer_id: FromPath[UUID]) -> PartyOut:
        return await _one(request, CustomerRepository, customer_id)
