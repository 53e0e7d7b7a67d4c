"""Jobs of the auth domain: purging what expired, telling people of new access, and mailing
one-time links (deciding, out of the request, what applies to the address asked about)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import identities, links
from backend.jobs.registry import job
from backend.models import (
    Identity,
    LinkPurpose,
    LoginTicket,
    Membership,
    RegistrationStatus,
    SupplierRegistration,
    Tenant,
    WebSession,
)
from backend.notifications.rendering import secret_link
from backend.notifications.service import queue_mail, recipient_locale
from backend.settings import get_settings
from tenants.isolation import context_of
from tenants.resolution import workspace_origin

NOTIFY_ACCESS = "auth.notify_access"


@job("auth.purge_expired")
async def purge_expired(session: AsyncSession) -> None:
    """Nightly, per tenant: drop sessions and tickets that can never be used again. (Global rows
    are swept where their key is at hand: expired apex sessions at the identity's next login, old
    login failures at the next failure of the same address or e-mail, used links when a new link
    goes to the same address.)"""
    now = datetime.now(UTC)
    await session.execute(delete(WebSession).where(WebSession.expires_at < now))
    await session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))


@job(NOTIFY_ACCESS)
async def notify_access(session: AsyncSession, membership_id: str) -> None:
    """Tell a person who already has a Merkato login that a workspace has given them access: nobody
    gains someone else's login in their workspace without that person hearing of it."""
    row = (
        await session.execute(
            select(Identity, Tenant)
            .join(Membership, Membership.identity_id == Identity.id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.id == UUID(membership_id), Membership.active.is_(True))
        )
    ).first()
    if row is None:  # removed or deactivated since
        return
    identity, tenant = row
    base = workspace_origin(get_settings(), tenant.slug)
    await queue_mail(
        session,
        to=identity.email,
        template="access_granted",
        locale=recipient_locale(identity.locale, tenant.locale),
        context={"name": identity.full_name, "link": f"{base}/login"},
    )


@dataclass(frozen=True, slots=True)
class LinkMail:
    """Where a link of one purpose leads and which e-mail carries it."""

    path: str  # a page on the host the link leads to (a tenant's, or the apex for workspace None)
    template: str


LINK_MAILS: dict[str, LinkMail] = {
    LinkPurpose.INVITATION: LinkMail("/account/set-password", "invitation"),
    LinkPurpose.PASSWORD_RESET: LinkMail("/account/set-password", "password_reset"),
    LinkPurpose.REGISTRATION: LinkMail("/supplier/register/continue", "registration_link"),
    LinkPurpose.SIGNUP: LinkMail("/signup/confirm", "signup_link"),
    LinkPurpose.UNLOCK: LinkMail("/account/unlock", "unlock"),
}


async def _what_applies(
    session: AsyncSession, purpose: str, identity: Identity | None, workspace_id: UUID | None
) -> str | None:
    """The e-mail this address gets (a template), or None when nothing applies to it."""
    if purpose == LinkPurpose.SIGNUP:
        return LINK_MAILS[purpose].template
    membership = None
    if identity is not None and workspace_id is not None:
        membership = await session.scalar(
            select(Membership).where(Membership.tenant_id == workspace_id, Membership.identity_id == identity.id)
        )
    if purpose == LinkPurpose.REGISTRATION:
        # someone with access here already logs in (or continues the registration they have)
        return "registration_member" if membership is not None else LINK_MAILS[purpose].template
    if identity is None:
        return None
    if purpose == LinkPurpose.INVITATION:
        # they chose a password meanwhile (through another workspace): nothing left to accept
        usable = membership is not None and membership.active and not identity.has_password
        return LINK_MAILS[purpose].template if usable else None
    if workspace_id is None:  # the apex: whoever has a login at all
        return LINK_MAILS[purpose].template
    if membership is None:
        return None
    registrant = await session.scalar(
        select(SupplierRegistration.id).where(
            SupplierRegistration.registrant_id == identity.id,
            SupplierRegistration.status != RegistrationStatus.APPROVED,
        )
    )
    # members, and a supplier's registrant whose membership waits for approval
    return LINK_MAILS[purpose].template if membership.active or registrant is not None else None


@job(links.SEND_LINK)
async def send_link(
    session: AsyncSession,
    purpose: str,
    email: str,
    workspace_id: str | None,
    payload: dict[str, Any],
) -> None:
    """Make a one-time link and queue the e-mail that carries it — or the e-mail that says what
    applies instead, or nothing. Runs in the system context of the tenant hosting the e-mail."""
    place = UUID(workspace_id) if workspace_id else None
    identity = await identities.find(session, email)
    template = await _what_applies(session, purpose, identity, place)
    if template is None:
        return
    settings = get_settings()
    host = await session.get(Tenant, context_of(session).tenant_id)
    assert host is not None
    base = workspace_origin(settings, host.slug if place else None)
    context: dict[str, Any] = {
        "name": identity.full_name if identity else str(payload.get("full_name", "")),
        "company": str(payload.get("legal_name", "")),
        "login": f"{base}/login",
        "minutes": int(links.LIFETIMES[LinkPurpose(purpose)].total_seconds() // 60),
    }
    if template == LINK_MAILS[purpose].template:
        token = await links.create(session, LinkPurpose(purpose), email, workspace_id=place, payload=payload)
        lifetime = links.LIFETIMES[LinkPurpose(purpose)]
        context |= {
            "link": secret_link(f"{base}{LINK_MAILS[purpose].path}?token={token}", token),
            "days": lifetime.days,
            "hours": int(lifetime.total_seconds() // 3600),
            "reset": f"{base}/account/forgot-password",
        }
    await queue_mail(
        session,
        to=email,
        template=template,
        locale=recipient_locale(identity.locale if identity else None, host.locale),
        context=context,
    )
