"""Staff block a supplier (always with a reason) and lift the block, and set its risk tier. A
blocked supplier keeps its record, people and documents; later issues refuse it awards and
purchase orders by this status. Only an active supplier can be blocked and only a blocked one
unblocked: registrations decide the other states (backend/suppliers/registration.py)."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.kit.errors import Conflict
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import Supplier
from backend.models.party import PartyStatus, RiskTier
from tenants.billing.entitlements import ensure_room
from tenants.billing.plans import Limit

MAX_REASON = 500


class StatusUnchanged(Conflict):
    """The supplier is not in the state the step starts from (someone else was faster)."""

    def __init__(self) -> None:
        super().__init__(_("The supplier's status has changed meanwhile."))


async def set_status(session: AsyncSession, supplier: Supplier, action: str, reason: str) -> None:
    """ "block" (with a reason) or "unblock"; the row lock makes two clicks one change."""
    await session.refresh(supplier, with_for_update=True)
    if action == "block":
        await block(session, supplier, reason)
    elif action == "unblock":
        await unblock(session, supplier)
    else:
        raise InvalidForm(FieldErrors(action=_("Choose block or unblock.")))


async def block(session: AsyncSession, supplier: Supplier, reason: str) -> None:
    errors = FieldErrors()
    if errors.require("status_reason", reason.strip()):
        errors.max_length("status_reason", reason.strip(), MAX_REASON)
    if errors:
        raise InvalidForm(errors)
    await _move(session, supplier, PartyStatus.ACTIVE, PartyStatus.BLOCKED, reason.strip(), "supplier.blocked")


async def unblock(session: AsyncSession, supplier: Supplier) -> None:
    """Active again, if the plan has room for another active supplier."""
    if supplier.status == PartyStatus.BLOCKED:
        await ensure_room(session, Limit.ACTIVE_SUPPLIERS)
    await _move(session, supplier, PartyStatus.BLOCKED, PartyStatus.ACTIVE, None, "supplier.unblocked")


async def _move(
    session: AsyncSession, supplier: Supplier, source: PartyStatus, target: PartyStatus, reason: str | None, action: str
) -> None:
    if supplier.status != source:
        raise StatusUnchanged()
    before = snapshot(supplier, "status", "status_reason")
    supplier.status, supplier.status_reason = target, reason
    await session.flush()
    await record(session, action, "supplier", supplier.id, before=before, after=snapshot(supplier, *before))


class RiskForm(msgspec.Struct):
    risk_tier: str = ""
    risk_reason: str = ""

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        if errors.require("risk_tier", self.risk_tier) and self.risk_tier not in RiskTier.__members__.values():
            errors["risk_tier"] = _("Choose a risk tier.")
        if errors.require("risk_reason", self.risk_reason):
            errors.max_length("risk_reason", self.risk_reason, MAX_REASON)
        return errors


async def set_risk(session: AsyncSession, supplier: Supplier, form: RiskForm) -> None:
    """The supplier's risk tier and why, in the trail with what it was before."""
    if errors := form.errors():
        raise InvalidForm(errors)
    before = snapshot(supplier, "risk_tier", "risk_reason")
    supplier.risk_tier, supplier.risk_reason = form.risk_tier, form.risk_reason
    await session.flush()
    await record(
        session, "supplier.risk_set", "supplier", supplier.id, before=before, after=snapshot(supplier, *before)
    )
