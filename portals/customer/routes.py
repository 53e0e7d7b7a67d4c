"""Customer portal pages (mounted under /customer)."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template

from backend.authz.guards import customer_user
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.i18n import gettext as _
from backend.models import MembershipKind
from backend.parties.repository import CustomerRepository
from portals.shared.party_home import party_home


@get("/", name="customer_home")
async def home(db: Db, user: CurrentUser, workspace: Workspace) -> Template:
    return await party_home(
        user,
        CustomerRepository(db),
        kind=MembershipKind.CUSTOMER,
        heading=_("Customer portal"),
        welcome=_("Welcome, %(name)s. You buy from %(tenant)s.") % {"name": user.name, "tenant": workspace.name},
    )


customer_router = Router(path="/customer", route_handlers=[home], guards=[customer_user])
