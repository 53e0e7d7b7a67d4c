"""Jobs of the parties domain."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.authz.roles import Permission, permissions_of
from backend.jobs.registry import job
from backend.kit.i18n import gettext as _
from backend.models import Membership, MembershipKind, Supplier
from backend.notifications.service import notify

ANNOUNCE_SUPPLIER = "parties.announce_supplier"


@job(ANNOUNCE_SUPPLIER)
async def announce_supplier(session: AsyncSession, supplier_id: str) -> None:
    """Tell everyone who manages suppliers that a new one was added (under their bell)."""
    supplier = await session.scalar(select(Supplier).where(Supplier.id == UUID(supplier_id)))
    if supplier is None:
        return  # gone since: nothing to announce
    staff = await session.scalars(
        select(Membership).where(Membership.kind == MembershipKind.STAFF, Membership.active.is_(True))
    )
    name, number = supplier.name, supplier.number
    for member in staff:
        if Permission.MANAGE_SUPPLIERS in permissions_of(member.roles):
            await notify(
                session,
                member.id,
                lambda: _("New supplier %(name)s (%(number)s)") % {"name": name, "number": number},
                link=f"/suppliers/{supplier.id}",
            )
