"""Customer portal pages (mounted under /customer)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from backend.accounts.service import list_people
from backend.authz.guards import customer_user
from backend.dependencies import Db
from backend.kit.pagination import PageRequest
from backend.models import MembershipKind
from backend.parties.repository import CustomerRepository


@get("/", name="customer_home")
async def home(request: Request[Any, Any, Any], db: Db) -> Template:
    customer = await CustomerRepository(db).get(request.scope["user"].party_id)
    if customer is None:
        raise NotFoundException()
    people = await list_people(db, PageRequest(size=100), kind=MembershipKind.CUSTOMER, party_id=customer.id)
    return Template(template_name="customer/home.html", context={"party": customer, "people": people})


customer_router = Router(path="/customer", route_handlers=[home], guards=[customer_user])
