"""Logging in and out: credentials, throttling, tenant sessions, apex sessions, one-time tickets.

Every failure answers the same way whether the e-mail exists or not, and each failure counts
against that e-mail; past the hourly limit even the right password is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import ANONYMOUS, Actor, record
from backend.auth.passwords import verify_password
from backend.auth.principal import ApexUser, Principal
from backend.auth.tokens import digest, new_secret
from backend.models import ApexSession, Identity, LoginFailure, LoginTicket, Membership, Tenant, WebSession

TICKET_SECONDS = 60
THROTTLE_WINDOW = timedelta(hours=1)


class LoginRefused(Exception):
    """Wrong e-mail or password, no membership here, or throttled; `throttled` says which message.
    `identity_id` is the identity the e-mail names, if known, for the audit trail only."""

    def __init__(self, *, throttled: bool, identity_id: UUID | None = None) -> None:
        super().__init__("throttled" if throttled else "invalid credentials")
        self.throttled = throttled
        self.identity_id = identity_id


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _now() -> datetime:
    return datetime.now(UTC)


async def check_credentials(session: AsyncSession, email: str, password: str, *, max_failures: int) -> Identity:
    """The identity for these credentials, or LoginRefused (recorded as a failure)."""
    email = normalize_email(email)
    failures = await session.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.failed_at > _now() - THROTTLE_WINDOW)
    )
    if (failures or 0) >= max_failures:
        raise LoginRefused(throttled=True)
    identity = await session.scalar(select(Identity).where(Identity.email == email))
    if not verify_password(identity.password_hash if identity else None, password):
        await record_failure(session, email)
        raise LoginRefused(throttled=False, identity_id=identity.id if identity else None)
    assert identity is not None  # verify_password is False without a hash
    return identity


async def record_failure(session: AsyncSession, email: str) -> None:
    email = normalize_email(email)
    await session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.failed_at < _now() - THROTTLE_WINDOW)
    )
    session.add(LoginFailure(email=email))
    await session.flush()


async def membership_principal(session: AsyncSession, tenant_id: UUID, identity: Identity) -> Principal | None:
    """The identity's active membership in this tenant as a Principal (needs a system context)."""
    membership = await session.scalar(
        select(Membership).where(
            Membership.tenant_id == tenant_id, Membership.identity_id == identity.id, Membership.active.is_(True)
        )
    )
    if membership is None:
        return None
    return _principal(membership, identity)


async def authenticate_member(
    session: AsyncSession, tenant_id: UUID, email: str, password: str, *, max_failures: int
) -> Principal:
    """Credentials that are right and belong to an active member of this tenant, or LoginRefused
    (recorded in the tenant's audit trail, with the e-mail but never the password)."""
    try:
        identity = await check_credentials(session, email, password, max_failures=max_failures)
        principal = await membership_principal(session, tenant_id, identity)
        if principal is None:
            # a real person, but not of this workspace (or deactivated): answered like a wrong password
            await record_failure(session, email)
            raise LoginRefused(throttled=False, identity_id=identity.id)
    except LoginRefused as refusal:
        await _audit_refusal(session, tenant_id, email, refusal)
        raise
    return principal


async def _audit_refusal(session: AsyncSession, tenant_id: UUID, email: str, refusal: LoginRefused) -> None:
    """The identity and membership are named only for this tenant's own members: that a person
    uses Merkato elsewhere is none of this tenant's business."""
    membership = None
    if refusal.identity_id is not None:
        membership = await session.scalar(
            select(Membership).where(Membership.tenant_id == tenant_id, Membership.identity_id == refusal.identity_id)
        )
    actor = Actor(
        kind=ANONYMOUS,
        identity_id=membership.identity_id if membership else None,
        membership_id=membership.id if membership else None,
        email=normalize_email(email),
    )
    action = "auth.login_throttled" if refusal.throttled else "auth.login_failed"
    if membership is None:
        await record(session, action, actor=actor)
    else:
        await record(session, action, "membership", membership.id, actor=actor)


def _principal(membership: Membership, identity: Identity) -> Principal:
    return Principal(
        tenant_id=membership.tenant_id,
        identity_id=identity.id,
        membership_id=membership.id,
        kind=membership.kind,
        party_id=membership.party_id,
        roles=frozenset(membership.roles),
        email=identity.email,
        name=identity.full_name,
        locale=identity.locale,
    )


# --- tenant-host sessions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    max_age: int


async def start_session(
    session: AsyncSession, principal: Principal, *, days: int, replacing: str | None, user_agent: str | None
) -> NewSession:
    """A fresh session id at every login (rotation); the session it replaces is deleted."""
    if replacing:
        await end_session(session, replacing)
    token, token_hash = new_secret()
    session.add(
        WebSession(
            tenant_id=principal.tenant_id,
            token_hash=token_hash,
            identity_id=principal.identity_id,
            membership_id=principal.membership_id,
            expires_at=_now() + timedelta(days=days),
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    await session.flush()
    return NewSession(token=token, max_age=days * 86400)


async def resolve_session(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.execute(
            select(Membership, Identity)
            .join(
                WebSession, (WebSession.tenant_id == Membership.tenant_id) & (WebSession.membership_id == Membership.id)
            )
            .join(Identity, Identity.id == Membership.identity_id)
            .where(WebSession.token_hash == digest(token), WebSession.expires_at > _now(), Membership.active.is_(True))
        )
    ).first()
    return _principal(row[0], row[1]) if row else None


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


async def end_sessions_of(session: AsyncSession, membership_id: UUID) -> None:
    """Log a membership out everywhere (needs a system context: sessions are the login code's alone)."""
    await session.execute(delete(WebSession).where(WebSession.membership_id == membership_id))


# --- apex sessions and tickets ----------------------------------------------------------------


async def start_apex_session(
    session: AsyncSession, identity: Identity, *, days: int, replacing: str | None
) -> NewSession:
    if replacing:
        await end_apex_session(session, replacing)
    token, token_hash = new_secret()
    session.add(ApexSession(token_hash=token_hash, identity_id=identity.id, expires_at=_now() + timedelta(days=days)))
    await session.flush()
    return NewSession(token=token, max_age=days * 86400)


async def resolve_apex_session(session: AsyncSession, token: str) -> ApexUser | None:
    identity = await session.scalar(
        select(Identity)
        .join(ApexSession, ApexSession.identity_id == Identity.id)
        .where(ApexSession.token_hash == digest(token), ApexSession.expires_at > _now())
    )
    if identity is None:
        return None
    return ApexUser(identity_id=identity.id, email=identity.email, name=identity.full_name, locale=identity.locale)


async def end_apex_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(ApexSession).where(ApexSession.token_hash == digest(token)))


@dataclass(frozen=True, slots=True)
class Workspace:
    slug: str
    name: str
    kind: str


async def workspaces(session: AsyncSession) -> list[Workspace]:
    """The identity's workspaces; the session's context (identity, no tenant) limits the rows."""
    rows = await session.execute(
        select(Tenant.slug, Tenant.name, Membership.kind)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.active.is_(True), Tenant.status == "active")
        .order_by(Tenant.name)
    )
    return [Workspace(slug=slug, name=name, kind=kind) for slug, name, kind in rows]


async def issue_ticket(session: AsyncSession, principal: Principal) -> str:
    token, token_hash = new_secret()
    session.add(
        LoginTicket(
            tenant_id=principal.tenant_id,
            token_hash=token_hash,
            membership_id=principal.membership_id,
            expires_at=_now() + timedelta(seconds=TICKET_SECONDS),
        )
    )
    await session.flush()
    return token


async def redeem_ticket(session: AsyncSession, token: str) -> Principal | None:
    """Single use: the UPDATE marks it used; a second redemption finds nothing."""
    membership_id = await session.scalar(
        update(LoginTicket)
        .where(LoginTicket.token_hash == digest(token), LoginTicket.used_at.is_(None), LoginTicket.expires_at > _now())
        .values(used_at=_now())
        .returning(LoginTicket.membership_id)
    )
    if membership_id is None:
        return None
    row = (
        await session.execute(
            select(Membership, Identity)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Membership.id == membership_id, Membership.active.is_(True))
        )
    ).first()
    return _principal(row[0], row[1]) if row else None
