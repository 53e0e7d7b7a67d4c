"""Supplier portal pages (mounted under /supplier)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from backend.authz.guards import supplier_user
from backend.dependencies import Db
from backend.kit.i18n import gettext as _
from backend.models import MembershipKind
from backend.parties.repository import SupplierRepository
from portals.shared.party_home import party_home
from portals.supplier.company import COMPANY_ROUTES


@get("/supplier", name="supplier_home")
async def home(request: Request[Any, Any, Any], db: Db) -> Template:
    user, tenant = request.scope["user"], request.scope["state"]["tenant"]
    return await party_home(
        request,
        SupplierRepository(db),
        kind=MembershipKind.SUPPLIER,
        heading=_("Supplier portal"),
        welcome=_("Welcome, %(name)s. You supply %(tenant)s.") % {"name": user.name, "tenant": tenant.name},
        coming=_("Requests for quotation, purchase orders, ship notices and invoices will appear here."),
        document_request_url="/supplier/documents",
    )


supplier_router = Router(path="/", route_handlers=[home, *COMPANY_ROUTES], guards=[supplier_user])
