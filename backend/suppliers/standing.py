"""Staff block a supplier (always with a reason) and lift the block. A blocked supplier keeps its
record, people and documents; later issues refuse it awards and purchase orders by this status.
Only an active supplier can be blocked and only a blocked one unblocked: registrations decide
the other states (backend/suppliers/registration.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.kit.forms import FieldErrors, InvalidForm
from backend.models import Supplier
from backend.models.party import PartyStatus
from tenants.billing.entitlements import ensure_room
from tenants.billing.plans import Limit

MAX_REASON = 500


class StatusUnchanged(Exception):
    """The supplier is not in the state the step starts from (someone else was faster)."""


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
