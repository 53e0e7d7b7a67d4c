"""Adding people to a tenant. One global identity per e-mail: a person already known to
Merkato (say, a supplier serving five buyers) gets a new membership, not a second login."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.passwords import MIN_LENGTH, hash_password
from backend.auth.service import normalize_email
from backend.authz.roles import StaffRole
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.pagination import Page, PageRequest
from backend.models import Identity, Membership, MembershipKind
from tenants.isolation import context_of


class PersonForm(msgspec.Struct):
    email: str = ""
    full_name: str = ""
    password: str = ""
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


async def add_person(
    session: AsyncSession,
    form: PersonForm,
    *,
    kind: MembershipKind,
    supplier_id: UUID | None = None,
    customer_id: UUID | None = None,
) -> Membership:
    """A membership for the e-mail's identity (created if new, with the initial password)."""
    errors = form.errors(staff=kind == MembershipKind.STAFF)
    email = normalize_email(form.email)
    tenant_id = context_of(session).tenant_id
    identity = None
    if "email" not in errors:
        identity = await session.scalar(select(Identity).where(Identity.email == email))
        if identity is None and not form.password:
            errors["password"] = _("A new user needs an initial password.")
        elif identity is None and len(form.password) < MIN_LENGTH:
            # only a new identity's password is checked: an existing one keeps theirs
            errors["password"] = _("At least %(n)d characters.") % {"n": MIN_LENGTH}
        elif identity is not None and await session.scalar(
            select(func.count()).where(Membership.tenant_id == tenant_id, Membership.identity_id == identity.id)
        ):
            errors["email"] = _("This person already has access to this workspace.")
    if errors:
        raise InvalidForm(errors)
    if identity is None:
        identity = Identity(email=email, full_name=form.full_name, password_hash=hash_password(form.password))
        session.add(identity)
        await session.flush()
    membership = Membership(
        tenant_id=tenant_id,
        identity_id=identity.id,
        kind=kind,
        supplier_id=supplier_id,
        customer_id=customer_id,
        roles=sorted(set(form.roles)) if kind == MembershipKind.STAFF else [],
    )
    session.add(membership)
    await session.flush()
    return membership


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
        )
        for m, i in rows
    ]
    return Page(items=people, total=total or 0, request=request)
