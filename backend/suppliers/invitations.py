"""Invitations by staff: a pending supplier with what staff know of it, its draft registration
waiting for the invited person, and the e-mailed link that lets that person take it up. The
supplier then completes and submits the draft like any registration (registration.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor, record
from backend.auth import identities, links
from backend.auth.tokens import digest
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.models import Identity, RegistrationStatus, Supplier, SupplierContact, SupplierRegistration
from backend.models.party import PartyStatus
from backend.suppliers.qualification import supply_category
from backend.suppliers.registration import (
    CompanyForm,
    IllegalTransition,
    enrol,
    known_categories,
    name_errors,
    update_company,
)
from backend.suppliers.validation import tax_id
from tenants.isolation import context_of
from tenants.numbering import next_number

NOTIFY_INVITATION = "suppliers.send_invitation"
INVITATION_LIFETIME = 30 * 86400


class InvitationForm(msgspec.Struct):
    """What staff know of a supplier they invite; the supplier completes the rest."""

    legal_name: str = ""
    country: str = ""
    currency: str = ""
    tax_id: str = ""
    email: str = ""  # the person invited: the link goes there
    contact_name: str = ""
    category: list[str] = msgspec.field(default_factory=list)

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        if errors.require("legal_name", self.legal_name):
            errors.max_length("legal_name", self.legal_name, 200)
        errors.country("country", self.country.upper())
        errors.currency("currency", self.currency.upper())
        if self.tax_id.strip() and "country" not in errors:
            self.tax_id = tax_id(errors, "tax_id", self.tax_id, self.country.upper()) or self.tax_id
        errors.email("email", self.email)
        errors.max_length("contact_name", self.contact_name, 200)
        return errors


async def invite(session: AsyncSession, form: InvitationForm, *, today: date) -> SupplierRegistration:
    """A pending supplier with what staff know of it, its draft registration waiting for the
    invited person, and the invitation e-mail. The supplier completes and submits the draft like
    any registration; it is reviewed like any other."""
    errors = form.errors()
    if not set(form.category) <= await known_categories(session):
        errors["category"] = _("Choose the categories from the list.")
    if errors:
        raise InvalidForm(errors)
    tenant_id = context_of(session).tenant_id
    supplier = Supplier(
        id=new_id(),
        tenant_id=tenant_id,
        status=PartyStatus.PENDING,
        name=form.legal_name.strip(),
        country=form.country.upper(),
        currency=form.currency.upper(),
        tax_id=form.tax_id.strip() or None,
        number=await next_number(session, "supplier", "SUP"),
    )
    session.add(supplier)
    await session.flush()
    if form.contact_name.strip():
        session.add(
            SupplierContact(
                tenant_id=tenant_id, supplier_id=supplier.id, name=form.contact_name.strip(), email=form.email.lower()
            )
        )
    for category_id in sorted(set(form.category)):
        await supply_category(session, supplier.id, UUID(category_id), today=today)
    registration = SupplierRegistration(
        tenant_id=tenant_id,
        supplier_id=supplier.id,
        status=RegistrationStatus.DRAFT,
        invited_email=identities.normalize_email(form.email),
        invited_by=context_of(session).identity_id,
    )
    session.add(registration)
    await session.flush()
    await record(
        session,
        "registration.invited",
        "supplier",
        supplier.id,
        after={"name": supplier.name, "invited_email": registration.invited_email},
    )
    await send_invitation(session, registration)
    return registration


async def invited_registration(session: AsyncSession, token: str) -> SupplierRegistration | None:
    """The registration an invitation link is for (locked), or None for an unknown or expired link.
    Only the latest link sent for a registration works."""
    registration: SupplierRegistration | None = await session.scalar(
        select(SupplierRegistration)
        .where(
            SupplierRegistration.invitation_digest == digest(token),
            SupplierRegistration.invitation_expires_at > datetime.now(UTC),
        )
        .with_for_update()
    )
    return registration


async def send_invitation(session: AsyncSession, registration: SupplierRegistration) -> None:
    """(Again) e-mail the invitation of a registration nobody has taken up yet."""
    if registration.registrant_id is not None or registration.invited_email is None:
        raise IllegalTransition(registration.status, "invite")
    await enqueue(
        session,
        NOTIFY_INVITATION,
        key=f"registration:{registration.id}:invited:{int(datetime.now(UTC).timestamp() * 1_000_000)}",
        registration_id=registration.id,
    )


async def resend_invitation(session: AsyncSession, registration: SupplierRegistration) -> None:
    """A new invitation e-mail for a registration nobody has taken up (the older link stops working)."""
    await send_invitation(session, registration)
    await record(
        session,
        "registration.invitation_sent",
        "supplier",
        registration.supplier_id,
        after={"invited_email": registration.invited_email},
    )


async def accept_invitation(
    session: AsyncSession,
    registration: SupplierRegistration,
    form: CompanyForm,
    *,
    full_name: str,
    password: str,
    confirm: str,
) -> Identity:
    """The invited person takes up the invitation: the link came to the invited address, which it
    proves (its person chooses a password if they have none); the company as they complete it, and
    they become its first user. Only once: a taken invitation is an IllegalTransition."""
    if registration.registrant_id is not None or registration.invited_email is None:
        raise IllegalTransition(registration.status, "invite")
    await update_company(session, registration, form)
    holder = links.LinkHolder(
        purpose="supplier_invitation",
        email=registration.invited_email,
        workspace_id=registration.tenant_id,
        payload={"full_name": full_name},
        identity=await identities.find(session, registration.invited_email),
    )
    if holder.identity is None and (errors := name_errors(full_name)):
        raise InvalidForm(errors)
    registrant = await links.prove_and_choose(session, holder, full_name=full_name, password=password, confirm=confirm)
    await enrol(session, registration, registrant)
    actor = Actor(kind="supplier", identity_id=registrant.id, email=registrant.email)
    await record(
        session,
        "registration.started",
        "supplier",
        registration.supplier_id,
        after={"name": form.legal_name},
        actor=actor,
    )
    return registrant
