"""A supplier's own data, kept current by its people: the fields that change directly (audited),
its colleagues and their roles within the supplier, and where its documents stand.

Sensitive fields (legal name, tax id, bank account) never change here: backend/suppliers/changes.py
turns them into change requests for finance. Like the other services of this package these run
in the tenant's system context naming the actor, after the page has checked who asks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import msgspec
from sqlalchemy import any_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import PersonForm, add_person
from backend.audit.service import Actor, record
from backend.auth.service import normalize_email
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum
from backend.models import (
    DocumentRequirement,
    Identity,
    Membership,
    MembershipKind,
    Supplier,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
)
from backend.suppliers.qualification import expiry


class SupplierRole(LabelledEnum):
    """What a supplier's people do for it (their roles within their own company)."""

    ADMIN = "admin"  # keeps the company's data and invites colleagues
    SALES = "sales"  # quotes and orders
    ACCOUNTING = "accounting"  # invoices and statements

    @property
    def label(self) -> str:
        return {
            SupplierRole.ADMIN: _("Administrator"),
            SupplierRole.SALES: _("Sales"),
            SupplierRole.ACCOUNTING: _("Accounting"),
        }[self]


# the supplier portal's company page passes this name to its template
supplier_role_label = SupplierRole.label_of


class ProfileForm(msgspec.Struct):
    """The fields a supplier changes without anyone's approval."""

    trading_name: str = ""
    website: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    email: str = ""
    phone: str = ""

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        errors.max_length("trading_name", self.trading_name, 200)
        errors.max_length("website", self.website, 300)
        if errors.require("street", self.street):
            errors.max_length("street", self.street, 200)
        if errors.require("city", self.city):
            errors.max_length("city", self.city, 100)
        errors.max_length("postal_code", self.postal_code, 20)
        errors.max_length("phone", self.phone, 40)
        if self.email:
            errors.email("email", self.email)
        return errors


_PROFILE_FIELDS = ("trading_name", "website", "street", "city", "postal_code", "email", "phone")


async def update_profile(session: AsyncSession, supplier: Supplier, form: ProfileForm, *, actor: Actor) -> None:
    if errors := form.errors():
        raise InvalidForm(errors)
    before = {field: getattr(supplier, field) for field in _PROFILE_FIELDS}
    for field in _PROFILE_FIELDS:
        value = getattr(form, field).strip()
        setattr(supplier, field, (value.lower() if field == "email" else value) or None)
    after = {field: getattr(supplier, field) for field in _PROFILE_FIELDS}
    if after != before:
        await session.flush()
        await record(
            session, "supplier.profile_changed", "supplier", supplier.id, before=before, after=after, actor=actor
        )


async def invite_colleague(
    session: AsyncSession,
    supplier_id: UUID,
    *,
    email: str,
    full_name: str,
    role: str,
    invited_by: UUID | None,
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
                created_by=invited_by,
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


async def set_colleague_role(session: AsyncSession, membership: Membership, role: str, *, actor: Actor) -> None:
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
        actor=actor,
    )


async def set_colleague_active(session: AsyncSession, membership: Membership, active: bool, *, actor: Actor) -> None:
    """Take a colleague's access away (not one's own; the company keeps an active admin) or give
    it back. The caller ends a deactivated colleague's sessions."""
    if membership.active == active:
        return
    if not active and membership.identity_id == actor.identity_id:
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
        actor=actor,
    )


class DocumentState(enum.StrEnum):
    MISSING = "missing"
    IN_REVIEW = "in_review"
    VALID = "valid"
    EXPIRING = "expiring"  # valid, but for EXPIRING_DAYS or fewer (qualification.expiry)
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class DocumentStanding:
    document_type: str
    name: str
    state: DocumentState
    current: SupplierDocument | None  # the approved version, if any
    waiting: SupplierDocument | None  # a newer version waiting for review


async def document_standings(session: AsyncSession, supplier_id: UUID, *, today: date) -> list[DocumentStanding]:
    """Each document the supplier's categories require: missing, in review, valid, expiring or expired."""
    required = (
        await session.execute(
            select(DocumentRequirement.document_type, DocumentRequirement.name, DocumentRequirement.expires)
            .join(SupplierQualification, SupplierQualification.category_id == DocumentRequirement.category_id)
            .where(SupplierQualification.supplier_id == supplier_id)
            .distinct()
            .order_by(DocumentRequirement.name)
        )
    ).all()
    versions = list(
        await session.scalars(
            select(SupplierDocument)
            .where(SupplierDocument.supplier_id == supplier_id)
            .order_by(SupplierDocument.version.desc())
        )
    )
    standings = []
    for document_type, name, expires in required:
        mine = [v for v in versions if v.document_type == document_type]
        current = next((v for v in mine if v.status == SupplierDocumentStatus.APPROVED), None)
        waiting = next((v for v in mine if v.status == SupplierDocumentStatus.PENDING_REVIEW), None)
        if current is None:
            state = DocumentState.IN_REVIEW if waiting else DocumentState.MISSING
        elif expires and (when := expiry(current.expires_on, today)):
            state = DocumentState(when)
        else:
            state = DocumentState.VALID
        standings.append(DocumentStanding(document_type, name, state, current, waiting))
    return standings
