"""A supplier's people as its administrators keep them: colleagues invited by e-mail, one role each
within their company (backend/authz/roles.py SupplierRole), access taken away or given back.
The company always keeps an active administrator. Every change is written to the audit trail;
the route guard has checked that the person asking may manage colleagues."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import any_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import PersonForm, add_person
from backend.audit.service import record
from backend.auth.service import normalize_email
from backend.authz.roles import SupplierRole
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import Identity, Membership, MembershipKind, Supplier
from tenants.isolation import context_of


async def invite_colleague(
    session: AsyncSession,
    supplier_id: UUID,
    *,
    email: str,
    full_name: str,
    role: str,
) -> Membership:
    """A colleague at the same supplier, invited by e-mail (or added, if they already use Merkato).
    Someone with other access to the buyer's workspace (its staff, another supplier, a customer)
    cannot be invited, and the answer does not say which: a supplier learns nothing about the
    buyer's other relations from it."""
    if role not in SupplierRole.__members__.values():
        raise InvalidForm(FieldErrors(role=_("Choose a role.")))
    existing = (
        await session.execute(
            select(Membership.supplier_id)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Identity.email == normalize_email(email))
        )
    ).first()
    if existing is not None:
        colleague_already = existing.supplier_id == supplier_id
        message = (
            _("This person is your colleague already.")
            if colleague_already
            else _("This address cannot be invited. Please use another one.")
        )
        raise InvalidForm(FieldErrors(email=message))
    try:
        # In the supplier's own context only its own people are visible; someone the workspace
        # knows otherwise (its staff, another supplier) shows as the membership that cannot be
        # added. The savepoint keeps the rest of the request's transaction usable.
        async with session.begin_nested():
            membership = await add_person(
                session,
                PersonForm(email=email, full_name=full_name),
                kind=MembershipKind.SUPPLIER,
                supplier_id=supplier_id,
            )
    except IntegrityError as taken:
        raise InvalidForm(FieldErrors(email=_("This address cannot be invited. Please use another one."))) from taken
    membership.roles = [role]
    await session.flush()
    return membership


async def colleague(session: AsyncSession, supplier_id: UUID, membership_id: UUID) -> Membership | None:
    """A membership of this supplier (locked); another supplier's, or staff's, is None. The
    supplier's row is locked first: two admins changing each other at once then take turns
    instead of deadlocking on each other's membership rows."""
    await session.execute(select(Supplier.id).where(Supplier.id == supplier_id).with_for_update())
    found: Membership | None = await session.scalar(
        select(Membership)
        .where(
            Membership.id == membership_id,
            Membership.kind == MembershipKind.SUPPLIER,
            Membership.supplier_id == supplier_id,
        )
        .with_for_update()
    )
    return found


async def _another_admin(session: AsyncSession, membership: Membership) -> bool:
    """Whether an active admin of the supplier other than this one remains (rows locked, so two
    admins demoting each other at once cannot both succeed)."""
    others = await session.scalars(
        select(Membership.id)
        .where(
            Membership.supplier_id == membership.supplier_id,
            Membership.kind == MembershipKind.SUPPLIER,
            Membership.active.is_(True),
            any_(Membership.roles) == SupplierRole.ADMIN.value,
            Membership.id != membership.id,
        )
        .with_for_update()
    )
    return bool(others.all())


async def set_colleague_role(session: AsyncSession, membership: Membership, role: str) -> None:
    """One role per person within their company; the company keeps an active admin."""
    if role not in SupplierRole.__members__.values():
        raise InvalidForm(FieldErrors(role=_("Choose a role.")))
    if membership.roles == [role]:
        return
    if (
        SupplierRole.ADMIN.value in membership.roles
        and membership.active
        and not await _another_admin(session, membership)
    ):
        raise InvalidForm(FieldErrors(role=_("Your company needs at least one active administrator.")))
    before = {"roles": membership.roles}
    membership.roles = [role]
    await session.flush()
    await record(
        session,
        "membership.roles_changed",
        "membership",
        membership.id,
        before=before,
        after={"roles": [role]},
    )


async def set_colleague_active(session: AsyncSession, membership: Membership, active: bool) -> None:
    """Take a colleague's access away (not one's own; the company keeps an active admin) or give
    it back. The caller ends a deactivated colleague's sessions."""
    if membership.active == active:
        return
    if not active and membership.identity_id == context_of(session).identity_id:
        raise InvalidForm(FieldErrors(membership=_("You cannot deactivate yourself.")))
    if not active and SupplierRole.ADMIN.value in membership.roles and not await _another_admin(session, membership):
        raise InvalidForm(FieldErrors(membership=_("Your company needs at least one active administrator.")))
    membership.active = active
    await session.flush()
    action = "membership.reactivated" if active else "membership.deactivated"
    await record(
        session,
        action,
        "membership",
        membership.id,
        before={"active": not active},
        after={"active": active},
    )
