"""JSON API for suppliers and customers. Staff see all of their tenant's; a supplier or customer
user sees only their own company (anything else answers 404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, JSONBody

from backend.authz.guards import staff, staff_permission_or_party
from backend.authz.principal import Principal
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db
from backend.kit.api import PageNumber, PageSize, SearchText, body_checked, refusals
from backend.kit.forms import InvalidForm
from backend.kit.pagination import Page, PageRequest
from backend.parties.queries import SupplierFilter, search_suppliers
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


def _page(found: Page[Any], page: int, size: int) -> PartyPage:
    return PartyPage(items=[PartyOut.of(p) for p in found.items], total=found.total, page=page, size=size)


async def _one(
    request: Request[Any, Any, Any], reader: Principal, repository: type[PartyRepository[Any]], party_id: UUID
) -> PartyOut:
    """The API's hottest read: scope checked first, then one prepared statement on the bare driver."""
    context = reader.context
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
        # the staff supplier list's search (and its CSV export's), with the API's filters
        filters = SupplierFilter(text=q.strip(), status=status)
        return _page(await search_suppliers(db, filters, PageRequest(page=page, size=size)), page, size)

    @get("/{supplier_id:uuid}", responses=ONE_REFUSALS)
    async def get_supplier(
        self, request: Request[Any, Any, Any], user: CurrentUser, supplier_id: FromPath[UUID]
    ) -> PartyOut:
        return await _one(request, user, SupplierRepository, supplier_id)

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
        found = await CustomerRepository(db).search(PageRequest(page=page, size=size), text=q.strip(), status=status)
        return _page(found, page, size)

    @get("/{customer_id:uuid}", responses=ONE_REFUSALS)
    async def get_customer(
        self, request: Request[Any, Any, Any], user: CurrentUser, customer_id: FromPath[UUID]
    ) -> PartyOut:
        return await _one(request, user, CustomerRepository, customer_id)
