"""Staff invite a supplier: its draft registration, filled in with what staff know, and the
e-mail that invites its person to complete it (sent again on request)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.forms import bind
from backend.kit.i18n import gettext as _
from backend.suppliers.invitations import InvitationForm, invite, resend_invitation
from backend.suppliers.queries import categories
from backend.suppliers.registration import registration_to_decide
from portals.shared.clock import workspace_today
from portals.shared.forms import form_page
from portals.staff.suppliers.pages import SUPPLIER_PAGES, Req, on_detail, supplier_or_404


async def _invite_context(db: Db, form: InvitationForm, errors: Mapping[str, str]) -> dict[str, Any]:
    return SUPPLIER_PAGES.context(form=form, errors=errors, categories=await categories(db))


@get("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite_form")
async def invite_form(db: Db, workspace: Workspace) -> Template:
    form = InvitationForm(currency=workspace.currency)
    return Template(template_name="staff/supplier_invite.html", context=await _invite_context(db, form, {}))


@post("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite")
async def invite_supplier(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    form = bind(InvitationForm, await request.form())
    async with form_page("staff/supplier_invite.html", lambda refused: _invite_context(db, form, refused.errors)):
        registration = await invite(db, form, today=workspace_today(workspace))
    return Redirect(path=f"/suppliers/{registration.supplier_id}")


@post("/{party_id:uuid}/invitation", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invitation_resend")
async def resend(db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]) -> Response[Any]:
    supplier = await supplier_or_404(db, party_id)
    registration = await registration_to_decide(db, supplier.id)
    if registration is None or registration.invited_email is None:
        raise NotFoundException()
    taken_up = _("The invitation has been taken up already.")  # the one refusal: taken up meanwhile
    # a refused step leaves nothing behind (the savepoint), and the page still renders
    async with on_detail(db, user, workspace, party_id, lambda _refused: {"notice": taken_up}), db.begin_nested():
        await resend_invitation(db, registration)
    return Redirect(path=f"/suppliers/{party_id}")
