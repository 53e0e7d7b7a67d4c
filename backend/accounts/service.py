"""Adding people to a tenant and administering staff memberships (roles, deactivation).

One global identity per e-mail: a person already known to Merkato (say, a supplier serving five
buyers) gets a new membership, not a second login. A workspace gives access, never credentials:
a new person is invited to choose a password through their own mailbox, and one who has a login
is told of the new access. Every change is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy import any_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.auth import identities, links
from backend.auth.tasks import NOTIFY_ACCESS
from backend.authz.roles import StaffRole
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.pagination import Page, PageRequest
from backend.models import Identity, LinkPurpose, Membership, MembershipKind
from tenants.billing.entitlements import ensure_room
from tenants.billing.plans import Limit
from tenants.isolation import context_of

# The plan limit a new membership of each kind counts against (supplier users are not limited).
_LIMIT_OF_KIND = {MembershipKind.STAFF: Limit.STAFF_SEATS, MembershipKind.CUSTOMER: Limit.CUSTOMER_USERS}


class PersonForm(msgspec.Struct):
    email: str = ""
    full_name: str = ""
    roles: list[str] = msgspec.field(default_factory=list)

    def errors(self, *, staff: bool) -> FieldErrors:
        errors = FieldErrors()
        errors.email("email", self.email)
        if errors.require("full_name", self.full_name):
            errors.max_length("full_name", self.full_name, 200)
        if staff:
            if not self.roles:
                errors["roles"] = _("Choose at least one role.")
            elif any(role not in StaffRole.__members__.values() for role in self.roles):
                errors["roles"] = _("Unknown role.")
        return errors


@dataclass(frozen=True, slots=True)
class Person:
    membership_id: UUID
    identity_id: UUID
    email: str
    full_name: str
    kind: str
    roles: list[str]
    active: bool
    verified_at: datetime | None
    has_password: bool  # False: invited, and the invitation not yet accepted


def _initial_roles(kind: MembershipKind, roles: list[str]) -> list[str]:
    """Staff get the roles chosen; a supplier's first people administer their own company (they
    invite colleagues with other roles); customers have no roles yet."""
    if kind == MembershipKind.STAFF:
        return sorted(set(roles))
    if kind == MembershipKind.SUPPLIER:
        return sorted(set(roles)) or ["admin"]
    return []


async def add_person(
    session: AsyncSession,
    form: PersonForm,
    *,
    kind: MembershipKind,
    supplier_id: UUID | None = None,
    customer_id: UUID | None = None,
    welcome: bool = True,
    created_by: UUID | None = None,
) -> Membership:
    """A membership for the e-mail's identity (created, without a password, if the address has
    none). Someone without a password yet is e-mailed a link to choose one; someone with a login is
    told of the new access (unless `welcome` is off: the caller tells them itself, as signup does,
    or the operator seeds their own people).
    `created_by` is who gives the access (default: the session's own person)."""
    errors = form.errors(staff=kind == MembershipKind.STAFF)
    tenant_id = context_of(session).tenant_id
    identity = None
    if "email" not in errors:
        identity = await identities.find(session, form.email)
        if identity is not None and await session.scalar(
            select(func.count()).where(Membership.tenant_id == tenant_id, Membership.identity_id == identity.id)
        ):
            errors["email"] = _("This person already has access to this workspace.")
    if errors:
        raise InvalidForm(errors)
    if limit := _LIMIT_OF_KIND.get(kind):
        await ensure_room(session, limit)
    identity = identity or await identities.find_or_create(session, form.email, form.full_name)
    membership = Membership(
        tenant_id=tenant_id,
        identity_id=identity.id,
        kind=kind,
        supplier_id=supplier_id,
        customer_id=customer_id,
        roles=_initial_roles(kind, form.roles),
        created_by=created_by or context_of(session).identity_id,
    )
    session.add(membership)
    await session.flush()
    after = {
        "email": identity.email,
        "kind": kind,
        "roles": membership.roles,
        "supplier_id": supplier_id,
        "customer_id": customer_id,
    }
    await record(session, "membership.created", "membership", membership.id, after=after)
    if welcome and not identity.has_password:
        await invite(session, identity.email)
    elif welcome:
        key = f"{NOTIFY_ACCESS}:{membership.id}"
        await enqueue(session, NOTIFY_ACCESS, membership_id=membership.id, key=key)
    return membership


async def invite(session: AsyncSession, email: str) -> None:
    """(Again) e-mail a person without a password the link to choose one, into this workspace."""
    workspace = context_of(session).tenant_id
    await links.ask(session, LinkPurpose.INVITATION, email, workspace_id=workspace, once_per_window=False)


async def resend_invitation(session: AsyncSession, membership: Membership) -> None:
    """A new invitation link for a member who has not chosen a password yet (the older link stops
    working); InvalidForm for one who has, or whose access was taken away."""
    identity = await session.get(Identity, membership.identity_id)
    assert identity is not None  # the membership's foreign key says so
    if identity.has_password or not membership.active:
        raise InvalidForm(FieldErrors(membership=_("This person has no invitation waiting.")))
    await invite(session, identity.email)
    await record(session, "membership.invitation_resent", "membership", membership.id)


async def list_people(
    session: AsyncSession,
    request: PageRequest,
    *,
    kind: MembershipKind,
    party_id: UUID | None = None,
    text: str = "",
) -> Page[Person]:
    query = (
        select(Membership, Identity)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(Membership.kind == kind)
    )
    if party_id is not None:
        query = query.where((Membership.supplier_id == party_id) | (Membership.customer_id == party_id))
    if text:
        query = query.where(Identity.email.ilike(f"%{text}%") | Identity.full_name.ilike(f"%{text}%"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Identity.full_name).limit(request.size).offset(request.offset))
    people = [
        Person(
            membership_id=m.id,
            identity_id=i.id,
            email=i.email,
            full_name=i.full_name,
            kind=m.kind,
            roles=list(m.roles),
            active=m.active,
            verified_at=i.verified_at,
            has_password=i.has_password,
        )
        for m, i in rows
    ]
    return Page(items=people, total=total or 0, request=request)


# --- administering staff memberships ----------------------------------------------------------

# Roles a workspace must never run out of among its active staff: an owner (when it has one at
# all), and somebody who can administer users.
_MANAGING_ROLES = frozenset({StaffRole.OWNER.value, StaffRole.ADMIN.value})


async def staff_membership(session: AsyncSession, membership_id: UUID) -> Membership | None:
    membership: Membership | None = await session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.kind == MembershipKind.STAFF)
    )
    return membership


async def _others_holding(session: AsyncSession, membership: Membership, roles: frozenset[str]) -> int:
    """Other active staff holding any of these roles. The rows are locked, so two administrators
    demoting each other at the same moment cannot both succeed and leave nobody in charge."""
    others = await session.scalars(
        select(Membership.id)
        .where(
            Membership.kind == MembershipKind.STAFF,
            Membership.active.is_(True),
            or_(*(any_(Membership.roles) == role for role in sorted(roles))),
            Membership.id != membership.id,
        )
        .with_for_update()
    )
    return len(others.all())


async def _keeps_someone_in_charge(session: AsyncSession, membership: Membership, remaining: set[str]) -> str | None:
    """Why `membership` may not be left with only `remaining` roles (none = deactivated), or None."""
    had = set(membership.roles) if membership.active else set()
    owner = StaffRole.OWNER.value
    if owner in had and owner not in remaining and not await _others_holding(session, membership, frozenset({owner})):
        return _("The workspace needs at least one active owner.")
    loses_admin = bool(had & _MANAGING_ROLES) and not remaining & _MANAGING_ROLES
    if loses_admin and not await _others_holding(session, membership, _MANAGING_ROLES):
        return _("The workspace needs at least one active owner or administrator.")
    return None


class RolesForm(msgspec.Struct):
    roles: list[str] = msgspec.field(default_factory=list)


async def change_roles(session: AsyncSession, membership: Membership, form: RolesForm) -> None:
    """New roles for a staff member. Nobody takes their own owner or administrator role away, and
    the workspace keeps an owner (if it has one) and someone who can administer users."""
    new = set(form.roles)
    errors = FieldErrors()
    if not new:
        errors["roles"] = _("Choose at least one role.")
    elif any(role not in StaffRole.__members__.values() for role in new):
        errors["roles"] = _("Unknown role.")
    elif membership.id == context_of(session).membership_id and (
        lost := sorted((set(membership.roles) - new) & _MANAGING_ROLES)
    ):
        errors["roles"] = _("You cannot remove your own %(role)s role.") % {"role": StaffRole.label_of(lost[0])}
    elif reason := await _keeps_someone_in_charge(session, membership, new):
        errors["roles"] = reason
    if errors:
        raise InvalidForm(errors)
    before = sorted(membership.roles)
    if before == sorted(new):
        return
    membership.roles = sorted(new)
    await session.flush()
    await record(
        session,
        "membership.roles_changed",
        "membership",
        membership.id,
        before={"roles": before},
        after={"roles": membership.roles},
    )


async def set_active(session: AsyncSession, membership: Membership, active: bool) -> None:
    """Deactivate or reactivate a staff membership (never one's own, never the last one in charge).
    Its access epoch moves with it (a trigger): a deactivated member's sessions and API tokens end
    on their next request."""
    if membership.active == active:
        return
    errors = FieldErrors()
    if not active and membership.id == context_of(session).membership_id:
        errors["membership"] = _("You cannot deactivate yourself.")
    elif not active and (reason := await _keeps_someone_in_charge(session, membership, set())):
        errors["membership"] = reason
    if errors:
        raise InvalidForm(errors)
    if active and (limit := _LIMIT_OF_KIND.get(MembershipKind(membership.kind))):
        await ensure_room(session, limit)
    membership.active = active
    await session.flush()
    action = "membership.reactivated" if active else "membership.deactivated"
    await record(session, action, "membership", membership.id, before={"active": not active}, after={"active": active})
