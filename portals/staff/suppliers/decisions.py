"""What staff decide about a supplier on its 360 page besides reviews: a change to sensitive
data (four eyes, finance), the risk tier, and blocking or unblocking."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Response, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.errors import DomainError
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import gettext as _
from backend.suppliers.changes import change_to_decide, decide
from backend.suppliers.queries import change_of
from backend.suppliers.standing import RiskForm, set_risk, set_status
from portals.staff.suppliers.pages import Req, on_detail, supplier_or_404


@post(
    "/{party_id:uuid}/changes/{change_id:uuid}",
    guards=[staff(Permission.DECIDE_SUPPLIER_CHANGES)],
    name="supplier_change_decision",
)
async def decide_change(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID], change_id: FromPath[UUID]
) -> Response[Any]:
    await supplier_or_404(db, party_id)
    if await change_of(db, party_id, change_id) is None:
        raise NotFoundException()
    form = await request.form()
    decision, reason = str(form.get("decision", "")), str(form.get("reason", "")).strip()

    def shown(refused: DomainError) -> dict[str, Any]:  # four eyes, the finance role, or decided already
        message = refused.errors.get("decision") or refused.message
        return {"change_errors": {str(change_id): message}, "notice": message}

    async with on_detail(db, user, workspace, party_id, shown):
        if decision not in ("approve", "reject"):
            raise InvalidForm(FieldErrors(decision=_("Choose approve or reject.")))
        change = await change_to_decide(db, change_id)
        if change is None:  # gone since the look above
            raise NotFoundException()
        await decide(
            db,
            change,
            approve=decision == "approve",
            decider=user,
            reason=reason,
        )
    return Redirect(path=f"/suppliers/{party_id}")


@post("/{party_id:uuid}/risk", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_risk")
async def set_risk_tier(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]
) -> Response[Any]:
    supplier = await supplier_or_404(db, party_id)
    form = bind(RiskForm, await request.form())
    async with on_detail(
        db, user, workspace, party_id, lambda refused: {"risk_form": form, "risk_errors": refused.errors}
    ):
        await set_risk(db, supplier, form)
    return Redirect(path=f"/suppliers/{party_id}")


@post("/{party_id:uuid}/status", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_status")
async def block_or_unblock(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]
) -> Response[Any]:
    supplier = await supplier_or_404(db, party_id)
    form = await request.form()
    action, reason = str(form.get("action", "")), str(form.get("status_reason", ""))
    # refused: no reason, or (unblocking) the plan's supplier limit; a conflict: the status changed meanwhile
    async with on_detail(
        db, user, workspace, party_id, lambda refused: {"status_errors": refused.errors, "status_reason": reason}
    ):
        await set_status(db, supplier, action, reason)
    return Redirect(path=f"/suppliers/{party_id}")
