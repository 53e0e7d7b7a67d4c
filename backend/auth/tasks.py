"""Jobs of the auth domain: purging what expired, and e-mailing one-time account links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.tokens import new_secret
from backend.jobs.registry import job
from backend.models import AccountToken, Identity, LoginTicket, Membership, Tenant, TokenPurpose, WebSession
from backend.notifications.rendering import secret_link
from backend.notifications.service import queue_mail, recipient_locale
from backend.settings import Settings, get_settings

SEND_ACCOUNT_LINK = "auth.send_account_link"
NOTIFY_ACCESS = "auth.notify_access"


@job("auth.purge_expired")
async def purge_expired(session: AsyncSession) -> None:
    """Nightly, per tenant: drop sessions, tickets and one-time links that can never be used again."""
    now = datetime.now(UTC)
    await session.execute(delete(WebSession).where(WebSession.expires_at < now))
    await session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
    await session.execute(delete(AccountToken).where(AccountToken.expires_at < now))


@dataclass(frozen=True, slots=True)
class LinkKind:
    """What a one-time link of one purpose opens, how long it lives, which e-mail carries it."""

    path: str  # a page of portals/public/account.py
    lifetime: timedelta
    template: str


LINK_KINDS: dict[str, LinkKind] = {
    TokenPurpose.INVITATION: LinkKind("/account/set-password", timedelta(days=7), "invitation"),
    TokenPurpose.PASSWORD_RESET: LinkKind("/account/set-password", timedelta(hours=1), "password_reset"),
    TokenPurpose.EMAIL_VERIFICATION: LinkKind("/account/verify", timedelta(days=7), "email_verification"),
}


def tenant_origin(settings: Settings, slug: str, *, scheme: str = "http", host: str | None = None) -> str:
    """Where a workspace's pages are, as a link in an e-mail must say: in production https on the
    standard port (never what a Host header claims); elsewhere the scheme and port the request came
    in on, so the demo's links lead to the demo server (http://acme.localhost:8000)."""
    authority = f"{slug}.{settings.base_domain}"
    if settings.production:
        return f"https://{authority}"
    port = host.rsplit(":", 1)[1] if host and ":" in host and not host.endswith("]") else ""
    if port.isdigit():
        authority += f":{port}"
    return f"{'https' if scheme == 'https' else 'http'}://{authority}"


@job(NOTIFY_ACCESS)
async def notify_access(session: AsyncSession, membership_id: str, origin: str | None) -> None:
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
    base = origin or tenant_origin(get_settings(), tenant.slug)
    await queue_mail(
        session,
        to=identity.email,
        template="access_granted",
        locale=recipient_locale(identity.locale, tenant.locale),
        context={"name": identity.full_name, "link": f"{base}/login"},
    )


@job(SEND_ACCOUNT_LINK)
async def send_account_link(session: AsyncSession, membership_id: str, purpose: str, origin: str | None) -> None:
    """Make a one-time link for a member and queue the e-mail that carries it. A job, because it
    runs as system (account_tokens admits no user's request) and e-mails come from actors."""
    kind = LINK_KINDS[purpose]
    row = (
        await session.execute(
            select(Membership, Identity, Tenant)
            .join(Identity, Identity.id == Membership.identity_id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.id == UUID(membership_id))
        )
    ).first()
    # removed or deactivated since: no link to a workspace they cannot enter — except proving an
    # e-mail address, which a supplier registering (inactive until approved) must do first
    if row is None or (not row[0].active and purpose != TokenPurpose.EMAIL_VERIFICATION):
        return
    membership, identity, tenant = row
    if purpose == TokenPurpose.INVITATION and identity.password_hash is not None:
        return  # they chose a password meanwhile (through another workspace's invitation)
    if purpose == TokenPurpose.EMAIL_VERIFICATION and identity.verified_at is not None:
        return
    token, token_hash = new_secret()
    session.add(
        AccountToken(
            tenant_id=membership.tenant_id,
            identity_id=identity.id,
            purpose=purpose,
            token_hash=token_hash,
            expires_at=datetime.now(UTC) + kind.lifetime,
        )
    )
    base = origin or tenant_origin(get_settings(), tenant.slug)
    await queue_mail(
        session,
        to=identity.email,
        template=kind.template,
        locale=recipient_locale(identity.locale, tenant.locale),
        context={
            "name": identity.full_name,
            "link": secret_link(f"{base}{kind.path}?token={token}", token),
            "days": kind.lifetime.days,
            "hours": kind.lifetime // timedelta(hours=1),
        },
    )
