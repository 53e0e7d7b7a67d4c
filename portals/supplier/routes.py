"""Supplier portal pages (mounted under /supplier)."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template

from backend.authz.guards import supplier_user
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.i18n import gettext as _
from backend.models import MembershipKind
from backend.parties.repository import SupplierRepository
from portals.shared.party_home import party_home
from portals.supplier.company import COMPANY_ROUTES


@get("/supplier", name="supplier_home")
async def home(db: Db, user: CurrentUser, workspace: Workspace) -> Template:
    return await party_home(
        user,
        SupplierRepository(db),
        kind=MembershipKind.SUPPLIER,
        heading=_("Supplier portal"),
        welcome=_("Welcome, %(name)s. You supply %(tenant)s.") % {"name": user.name, "tenant": workspace.name},
        document_request_url="/supplier/documents",
    )


supplier_router = Router(path="/", route_handlers=[home, *COMPANY_ROUTES], guards=[supplier_user])
