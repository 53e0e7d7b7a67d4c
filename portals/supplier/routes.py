"""Supplier portal pages (mounted under /supplier)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from backend.accounts.service import list_people
from backend.authz.guards import supplier_user
from backend.dependencies import Db
from backend.kit.pagination import PageRequest
from backend.models import MembershipKind
from backend.parties.repository import SupplierRepository


@get("/", name="supplier_home")
async def home(request: Request[Any, Any, Any], db: Db) -> Template:
    supplier = await SupplierRepository(db).get(request.scope["user"].party_id)
    if supplier is None:
        raise NotFoundException()
    people = await list_people(db, PageRequest(size=100), kind=MembershipKind.SUPPLIER, party_id=supplier.id)
    return Template(template_name="supplier/home.html", context={"party": supplier, "people": people})


supplier_router = Router(path="/supplier", route_handlers=[home], guards=[supplier_user])
