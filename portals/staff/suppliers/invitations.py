"""Staff invite a supplier: its draft registration, filled in with what staff know, and the
e-mail that invites its person to complete it (sent again on request)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.audit.service import Actor
from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import gettext as _
from backend.suppliers.queries import categories
from backend.suppliers.registration import (
    IllegalTransition,
    InvitationForm,
    invite,
    registration_to_decide,
    resend_invitation,
)
from portals.shared.clock import workspace_today
from portals.shared.forms import FormRejected
from portals.staff.suppliers.pages import SUPPLIER_PAGES, Req, conflict, supplier_or_404


async def _invite_context(db: Db, form: InvitationForm, errors: FieldErrors | dict[str, str]) -> dict[str, Any]:
    return SUPPLIER_PAGES.context(form=form, errors=errors, categories=await categories(db))


@get("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite_form")
async def invite_form(request: Req, db: Db) -> Template:
    form = InvitationForm(currency=request.scope["state"]["tenant"].currency)
    return Template(template_name="staff/supplier_invite.html", context=await _invite_context(db, form, {}))


@post("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite")
async def invite_supplier(request: Req, db: Db) -> Response[Any]:
    form = bind(InvitationForm, await request.form())
    try:
        registration = await invite(db, form, inviter=Actor.of(request.scope["user"]), today=workspace_today(request))
    except InvalidForm as rejected:
        raise FormRejected("staff/supplier_invite.html", await _invite_context(db, form, rejected.errors)) from rejected
    return Redirect(path=f"/suppliers/{registration.supplier_id}")


@post("/{party_id:uuid}/invitation", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invitation_resend")
async def resend(request: Req, db: Db, party_id: FromPath[UUID]) -> Response[Any]:
    supplier = await supplier_or_404(db, party_id)
    registration = await registration_to_decide(db, supplier.id)
    if registration is None or registration.invited_email is None:
        raise NotFoundException()
    try:
        async with db.begin_nested():  # a refused step leaves nothing behind; the page still renders
            await resend_invitation(db, registration, actor=Actor.of(request.scope["user"]))
    except IllegalTransition:
        return await conflict(db, request, party_id, _("The invitation has been taken up already."))
    return Redirect(path=f"/suppliers/{party_id}")
