"""Customer portal pages (mounted under /customer)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from backend.authz.guards import customer_user
from backend.dependencies import Db
from backend.kit.i18n import gettext as _
from backend.models import MembershipKind
from backend.parties.repository import CustomerRepository
from portals.shared.party_home import party_home


@get("/", name="customer_home")
async def home(request: Request[Any, Any, Any], db: Db) -> Template:
    user, tenant = request.scope["user"], request.scope["state"]["tenant"]
    return await party_home(
        request,
        CustomerRepository(db),
        kind=MembershipKind.CUSTOMER,
        heading=_("Customer portal"),
        welcome=_("Welcome, %(name)s. You buy from %(tenant)s.") % {"name": user.name, "tenant": tenant.name},
        coming=_("Orders with promise dates, order tracking, invoices and support tickets will appear here."),
    )


customer_router = Router(path="/customer", route_handlers=[home], guards=[customer_user])
