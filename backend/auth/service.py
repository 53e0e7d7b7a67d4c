"""Logging in and out: credentials, throttling, tenant sessions, apex sessions, one-time tickets.

Every wrong answer looks the same whether the e-mail exists or not. Throttling (throttle.py) slows
the guesser down, never the person: a login guessed at from everywhere answers the right password
with an e-mailed link instead of a session, and says the same to a wrong one.

Sessions, tickets and API tokens remember the identity's credential epoch and the membership's
access epoch they were made with; once either moved (a password set, roles changed, access taken
away), they end on their next request, in every workspace.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import ANONYMOUS, Actor, record
from backend.auth import identities, throttle
from backend.auth.passwords import verify_password
from backend.auth.tokens import digest, new_secret
from backend.authz.principal import ApexUser, Principal
from backend.kit.i18n import gettext as _
from backend.models import ApexSession, Identity, LoginTicket, Membership, Tenant, WebSession
from tenants.isolation import act_as, allow_lookup

TICKET_SECONDS = 60


class Refusal(enum.StrEnum):
    WRONG = "wrong"  # wrong e-mail or password, or no access to this workspace
    WAIT = "wait"  # this client must wait (retry_after seconds)
    SHIELDED = "shielded"  # the login is being guessed at: a right password gets an e-mailed link


class LoginRefused(Exception):
    """No login; `reason` says which message to show. `identity_id` names the identity the e-mail
    belongs to, for the audit trail only; `shielded_identity` is set when the password was right
    but the login is under attack, so the caller e-mails it a link to finish logging in."""

    def __init__(
        self,
        reason: Refusal,
        *,
        retry_after: int = 0,
        identity_id: UUID | None = None,
        shielded_identity: Identity | None = None,
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.retry_after = retry_after
        self.identity_id = identity_id
        self.shielded_identity = shielded_identity

    @property
    def throttled(self) -> bool:
        return self.reason != Refusal.WRONG


normalize_email = identities.normalize_email


def refusal_message(refusal: LoginRefused) -> str:
    """What a refused login is told: the same for an unknown e-mail and a wrong password, and the
    same for a right and a wrong password while the login is shielded."""
    if refusal.reason == Refusal.WAIT:
        return _("Too many failed attempts from here. Please wait %(seconds)d seconds and try again.") % {
            "seconds": refusal.retry_after
        }
    if refusal.reason == Refusal.SHIELDED:
        return _(
            "Many wrong passwords were tried on this login lately, so the password alone does not log in now. "
            "If the password you gave is right, we have e-mailed you a link to finish logging in."
        )
    return _("The e-mail or password is wrong.")


def _now() -> datetime:
    return datetime.now(UTC)


async def check_credentials(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    client: str,
    max_failures: int,
    workspace: UUID | None = None,
) -> Identity:
    """The identity for these credentials, or LoginRefused. In a workspace (`workspace`, a tenant
    host) the identity must also be a member there: a right password of a stranger is a wrong
    answer, and a wrong one counts against the client address only."""
    email = normalize_email(email)
    wait = await throttle.wait_seconds(session, email, client)
    if wait:
        raise LoginRefused(Refusal.WAIT, retry_after=wait)
    identity = await identities.find(session, email)
    hashed = await identities.password_hash(session, identity) if identity else None
    right = verify_password(hashed, password)  # hashes something either way: the same time for all
    member = identity is not None and (workspace is None or await _is_member(session, workspace, identity.id))
    shielded = member and await throttle.under_attack(session, email, max_failures)
    if not (right and member):
        await throttle.record_failure(session, client, email=email if member else None)
        reason = Refusal.SHIELDED if shielded else Refusal.WRONG
        raise LoginRefused(reason, identity_id=identity.id if identity else None)
    assert identity is not None
    if shielded:
        raise LoginRefused(Refusal.SHIELDED, identity_id=identity.id, shielded_identity=identity)
    return identity


async def _is_member(session: AsyncSession, tenant_id: UUID, identity_id: UUID) -> bool:
    found = await session.scalar(
        select(Membership.id).where(
            Membership.tenant_id == tenant_id, Membership.identity_id == identity_id, Membership.active.is_(True)
        )
    )
    return found is not None


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
    session: AsyncSession, tenant_id: UUID, email: str, password: str, *, client: str, max_failures: int
) -> Principal:
    """Credentials that are right and belong to an active member of this tenant, or LoginRefused
    (recorded in the tenant's audit trail, with the e-mail but never the password)."""
    try:
        identity = await check_credentials(
            session, email, password, client=client, max_failures=max_failures, workspace=tenant_id
        )
    except LoginRefused as refusal:
        await _audit_refusal(session, tenant_id, email, refusal)
        raise
    principal = await membership_principal(session, tenant_id, identity)
    assert principal is not None  # check_credentials asked for an active membership here
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
    action = "auth.login_failed" if refusal.reason == Refusal.WRONG else "auth.login_throttled"
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
        identity_epoch=identity.credential_epoch,
        access_epoch=membership.access_epoch,
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
            identity_epoch=principal.identity_epoch,
            access_epoch=principal.access_epoch,
        )
    )
    await session.flush()
    return NewSession(token=token, max_age=days * 86400)


async def resolve_session(session: AsyncSession, token: str) -> Principal | None:
    """The member a session cookie logs in, while the session lives and neither the person's
    credentials nor their access changed since it began."""
    row = (
        await session.execute(
            select(Membership, Identity)
            .join(
                WebSession, (WebSession.tenant_id == Membership.tenant_id) & (WebSession.membership_id == Membership.id)
            )
            .join(Identity, Identity.id == Membership.identity_id)
            .where(
                WebSession.token_hash == digest(token),
                WebSession.expires_at > _now(),
                Membership.active.is_(True),
                WebSession.identity_epoch == Identity.credential_epoch,
                WebSession.access_epoch == Membership.access_epoch,
            )
        )
    ).first()
    return _principal(row[0], row[1]) if row else None


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


# --- apex sessions and tickets ----------------------------------------------------------------


async def start_apex_session(
    session: AsyncSession, identity: Identity, *, days: int, replacing: str | None
) -> NewSession:
    """A session on the apex host, acting as the identity (the only context that may write one);
    its expired sessions are swept on the way."""
    if replacing:
        await end_apex_session(session, replacing)
    await act_as(session, identity.id)
    await session.execute(
        delete(ApexSession).where(ApexSession.identity_id == identity.id, ApexSession.expires_at < _now())
    )
    token, token_hash = new_secret()
    session.add(
        ApexSession(
            token_hash=token_hash,
            identity_id=identity.id,
            expires_at=_now() + timedelta(days=days),
            identity_epoch=identity.credential_epoch,
        )
    )
    await session.flush()
    return NewSession(token=token, max_age=days * 86400)


async def resolve_apex_session(session: AsyncSession, token: str) -> ApexUser | None:
    token_hash = digest(token)
    await allow_lookup(session, token_hash=token_hash)
    identity = await session.scalar(
        select(Identity)
        .join(ApexSession, ApexSession.identity_id == Identity.id)
        .where(
            ApexSession.token_hash == token_hash,
            ApexSession.expires_at > _now(),
            ApexSession.identity_epoch == Identity.credential_epoch,
        )
    )
    if identity is None:
        return None
    return ApexUser(identity_id=identity.id, email=identity.email, name=identity.full_name, locale=identity.locale)


async def end_apex_session(session: AsyncSession, token: str) -> None:
    token_hash = digest(token)
    await allow_lookup(session, token_hash=token_hash)
    await session.execute(delete(ApexSession).where(ApexSession.token_hash == token_hash))


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


async def issue_ticket(session: AsyncSession, principal: Principal, binding_hash: bytes) -> str:
    """A one-time ticket into `principal`'s workspace, redeemable only by the browser holding the
    binding cookie whose hash is `binding_hash` (the workspace host set it before asking)."""
    token, token_hash = new_secret()
    session.add(
        LoginTicket(
            tenant_id=principal.tenant_id,
            token_hash=token_hash,
            membership_id=principal.membership_id,
            expires_at=_now() + timedelta(seconds=TICKET_SECONDS),
            identity_epoch=principal.identity_epoch,
            access_epoch=principal.access_epoch,
            binding_hash=binding_hash,
        )
    )
    await session.flush()
    return token


async def redeem_ticket(session: AsyncSession, token: str, binding: str) -> Principal | None:
    """Single use: the UPDATE marks it used; a second redemption finds nothing. A ticket presented
    by another browser than the one that asked for it, or whose login changed since, is void (and
    spent: a ticket seen in the wrong browser may have been seen by others too)."""
    if not token:
        return None
    ticket = await session.scalar(
        update(LoginTicket)
        .where(LoginTicket.token_hash == digest(token), LoginTicket.used_at.is_(None), LoginTicket.expires_at > _now())
        .values(used_at=_now())
        .returning(LoginTicket)
    )
    if ticket is None or ticket.binding_hash is None or not compare_digest(ticket.binding_hash, digest(binding or "")):
        return None
    row = (
        await session.execute(
            select(Membership, Identity)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(
                Membership.id == ticket.membership_id,
                Membership.active.is_(True),
                Membership.access_epoch == ticket.access_epoch,
                Identity.credential_epoch == ticket.identity_epoch,
            )
        )
    ).first()
    return _principal(row[0], row[1]) if row else None
