"""Jobs of supplier onboarding: the daily look at every approved document's expiry date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import any_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.tokens import new_secret
from backend.authz.roles import Permission, permissions_of, roles_with
from backend.jobs.registry import job
from backend.models import (
    DocumentRequirement,
    Identity,
    Membership,
    MembershipKind,
    RegistrationStatus,
    Supplier,
    SupplierChangeRequest,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
    SupplierRegistration,
    Tenant,
)
from backend.notifications.rendering import secret_link
from backend.notifications.service import queue_mail, recipient_locale
from backend.settings import get_settings
from backend.suppliers.changes import NOTIFY_CHANGE
from backend.suppliers.invitations import INVITATION_LIFETIME, NOTIFY_INVITATION
from backend.suppliers.qualification import RECOMPUTE_STANDING, recompute
from backend.suppliers.registration import NOTIFY_REGISTRATION
from tenants.isolation import context_of
from tenants.resolution import workspace_origin

CHECK_DOCUMENTS = "suppliers.check_documents"


@job(CHECK_DOCUMENTS)
async def check_documents(session: AsyncSession, today: str | None = None) -> None:
    """Daily, per tenant: remind the supplier and the buyers 30 and 7 days before an approved
    document expires (each reminder once per document version), and recompute the standing of
    every supplier, so one whose document expired yesterday is `expired` in that category today.
    `today` (ISO date) is for a late run or a test; by default it is today in the tenant's zone."""
    tenant = await session.get(Tenant, context_of(session).tenant_id)
    assert tenant is not None
    day = date.fromisoformat(today) if today else datetime.now(ZoneInfo(tenant.timezone)).date()
    now = datetime.now(UTC)
    documents = await session.scalars(
        select(SupplierDocument)
        .where(SupplierDocument.status == SupplierDocumentStatus.APPROVED, SupplierDocument.expires_on.is_not(None))
        .with_for_update()
    )
    for document in documents.all():
        assert document.expires_on is not None
        left = (document.expires_on - day).days
        if 0 <= left <= 7 and document.reminded_7_at is None:
            await _remind(session, tenant, document, left)
            # the 7-day reminder stands for the 30-day one if that was never sent
            document.reminded_7_at, document.reminded_30_at = now, document.reminded_30_at or now
        elif 7 < left <= 30 and document.reminded_30_at is None:
            await _remind(session, tenant, document, left)
            document.reminded_30_at = now
    for supplier_id in set(await session.scalars(select(SupplierQualification.supplier_id))):
        await recompute(session, supplier_id, today=day)


@job(RECOMPUTE_STANDING)
async def recompute_standing(session: AsyncSession, supplier_id: str, today: str) -> None:
    """A supplier's standing in its categories, after its own people added one (`today` is the
    day in the tenant's zone when they did, so the job decides as the request would have)."""
    await recompute(session, UUID(supplier_id), today=date.fromisoformat(today))


async def _remind(session: AsyncSession, tenant: Tenant, document: SupplierDocument, days: int) -> None:
    supplier = await session.get(Supplier, (tenant.id, document.supplier_id))
    assert supplier is not None
    name = await session.scalar(
        select(DocumentRequirement.name).where(DocumentRequirement.document_type == document.document_type).limit(1)
    )
    people = await session.execute(
        select(Membership, Identity)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(Membership.active.is_(True))
        .where(
            (Membership.supplier_id == document.supplier_id) | (Membership.kind == MembershipKind.STAFF),
        )
        .order_by(Identity.email)
    )
    for membership, identity in people:
        if membership.kind == MembershipKind.STAFF and Permission.MANAGE_SUPPLIERS not in permissions_of(
            membership.kind, membership.roles
        ):
            continue
        path = "/supplier" if membership.kind == MembershipKind.SUPPLIER else f"/suppliers/{supplier.id}"
        origin = workspace_origin(get_settings(), tenant.slug)
        await queue_mail(
            session,
            to=identity.email,
            template="supplier_document_expiring",
            locale=recipient_locale(identity.locale, tenant.locale),
            context={
                "name": identity.full_name,
                "supplier": supplier.name,
                "document": name or document.document_type,
                "expires_on": document.expires_on.isoformat() if document.expires_on else "",
                "days": days,
                "link": f"{origin}{path}",
            },
        )


@job(NOTIFY_CHANGE)
async def notify_change(session: AsyncSession, change_request_id: str, status: str) -> None:
    """E-mail the supplier's people and the tenant's staff who decide it (finance) about a change request: asked
    for (status pending), approved or rejected — the status when the job was queued, whatever it
    is by the time the job runs. A bank change nobody expected is how payment fraud shows itself."""
    request = await session.scalar(
        select(SupplierChangeRequest).where(SupplierChangeRequest.id == UUID(change_request_id))
    )
    if request is None:
        return
    tenant = await session.get(Tenant, request.tenant_id)
    supplier = await session.get(Supplier, (request.tenant_id, request.supplier_id))
    assert tenant is not None
    assert supplier is not None
    people = await session.execute(
        select(Membership, Identity)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(Membership.active.is_(True))
        .where(
            (Membership.supplier_id == request.supplier_id)
            | (
                (Membership.kind == MembershipKind.STAFF)
                & or_(
                    *(
                        any_(Membership.roles) == role
                        for role in roles_with(MembershipKind.STAFF, Permission.DECIDE_SUPPLIER_CHANGES)
                    )
                )
            )
        )
        .order_by(Identity.email)
    )
    origin = workspace_origin(get_settings(), tenant.slug)
    for membership, identity in people:
        path = "/supplier" if membership.kind == MembershipKind.SUPPLIER else f"/suppliers/{supplier.id}"
        await queue_mail(
            session,
            to=identity.email,
            template="supplier_change",
            locale=recipient_locale(identity.locale, tenant.locale),
            context={
                "name": identity.full_name,
                "supplier": supplier.name,
                "kind": request.kind,
                "status": status,
                "link": f"{origin}{path}",
            },
        )


@job(NOTIFY_REGISTRATION)
async def notify_registration(
    session: AsyncSession, registration_id: str, status: str, comment: str | None = None
) -> None:
    """A submitted registration goes to the people who manage suppliers; the reviewer's decision
    (approved, rejected, more information needed, with the comment) to the registrant."""
    registration = await session.scalar(
        select(SupplierRegistration).where(SupplierRegistration.id == UUID(registration_id))
    )
    if registration is None:
        return
    tenant = await session.get(Tenant, registration.tenant_id)
    supplier = await session.get(Supplier, (registration.tenant_id, registration.supplier_id))
    assert tenant is not None
    assert supplier is not None
    origin = workspace_origin(get_settings(), tenant.slug)
    if status == RegistrationStatus.SUBMITTED:
        staff = await session.execute(
            select(Membership, Identity)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Membership.kind == MembershipKind.STAFF, Membership.active.is_(True))
            .order_by(Identity.email)
        )
        recipients = [
            (identity, f"{origin}/suppliers/{supplier.id}")
            for membership, identity in staff
            if Permission.MANAGE_SUPPLIERS in permissions_of(membership.kind, membership.roles)
        ]
    else:
        registrant = await session.get(Identity, registration.registrant_id) if registration.registrant_id else None
        # until approval the registrant is no user of the portal yet: their way in is the draft
        path = "/supplier" if status == RegistrationStatus.APPROVED else "/supplier/register"
        recipients = [(registrant, f"{origin}{path}")] if registrant else []
    for identity, link in recipients:
        await queue_mail(
            session,
            to=identity.email,
            template="supplier_registration",
            locale=recipient_locale(identity.locale, tenant.locale),
            context={
                "name": identity.full_name,
                "supplier": supplier.name,
                "status": status,
                "comment": comment or "",
                "link": link,
            },
        )


@job(NOTIFY_INVITATION)
async def send_invitation(session: AsyncSession, registration_id: str) -> None:
    """The invitation to register: a signed link to the registration form, filled in with what
    staff know. Nothing if the invitation has been taken up since it was queued."""
    registration = await session.scalar(
        select(SupplierRegistration).where(SupplierRegistration.id == UUID(registration_id))
    )
    if registration is None or registration.registrant_id is not None or registration.invited_email is None:
        return
    tenant = await session.get(Tenant, registration.tenant_id)
    supplier = await session.get(Supplier, (registration.tenant_id, registration.supplier_id))
    assert tenant is not None
    assert supplier is not None
    settings = get_settings()
    # a new link each time: only the digest is kept, and the latest link replaces earlier ones
    token, registration.invitation_digest = new_secret()
    registration.invitation_expires_at = datetime.now(UTC) + timedelta(seconds=INVITATION_LIFETIME)
    await queue_mail(
        session,
        to=registration.invited_email,
        template="supplier_invitation",
        locale=tenant.locale,
        context={
            "supplier": supplier.name,
            "link": secret_link(
                f"{workspace_origin(settings, tenant.slug)}/supplier/register/invitation/{token}", token
            ),
            "days": INVITATION_LIFETIME // 86400,
        },
    )
