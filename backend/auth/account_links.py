"""One-time links by e-mail: invitations (a first password), password resets and e-mail
verification — asking for them and redeeming them.

We keep only the SHA-256 of a link's secret. A link is single use: the UPDATE that marks it
used is the check, so two clicks cannot both win. account_tokens admits only a system context
(RLS), so tenant-host pages call these in TenantContext.system(tenant), and the links are made
and mailed by the auth.send_account_link job (backend/auth/tasks.py).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import ANONYMOUS, Actor, record
from backend.auth.passwords import MIN_LENGTH, hash_password
from backend.auth.principal import Principal
from backend.auth.service import membership_principal, normalize_email
from backend.auth.tasks import NOTIFY_ACCESS, SEND_ACCOUNT_LINK
from backend.auth.tokens import digest
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import AccountToken, ApexSession, Identity, LoginFailure, Membership, TokenPurpose, WebSession

# Links that let their holder choose a password; both open the same page.
PASSWORD_PURPOSES = (TokenPurpose.INVITATION, TokenPurpose.PASSWORD_RESET)
MAX_PASSWORD_LENGTH = 1000
# One reset e-mail per person per window, however often the form is sent: the form is open to
# anyone, and must not become a way to flood someone's inbox.
RESET_WINDOW_SECONDS = 300


def _now() -> datetime:
    return datetime.now(UTC)


# --- asking for links -------------------------------------------------------------------------


async def invite(session: AsyncSession, membership_id: UUID, origin: str | None) -> None:
    """Queue an invitation e-mail (a link to choose a password) for a member without one."""
    await enqueue(
        session,
        SEND_ACCOUNT_LINK,
        membership_id=membership_id,
        purpose=TokenPurpose.INVITATION.value,
        origin=origin,
        key=f"auth.invitation:{membership_id}",
    )


async def tell_of_access(session: AsyncSession, membership_id: UUID, origin: str | None) -> None:
    """Queue the notice for someone with a login already (and so no invitation) who was added."""
    key = f"auth.access:{membership_id}"
    await enqueue(session, NOTIFY_ACCESS, membership_id=membership_id, origin=origin, key=key)


async def ask_to_verify(session: AsyncSession, membership_id: UUID, identity_id: UUID, origin: str | None) -> None:
    """Queue a verification e-mail for a new identity whose password an admin chose."""
    await enqueue(
        session,
        SEND_ACCOUNT_LINK,
        membership_id=membership_id,
        purpose=TokenPurpose.EMAIL_VERIFICATION.value,
        origin=origin,
        key=f"auth.verification:{identity_id}",
    )


async def request_password_reset(session: AsyncSession, tenant_id: UUID, email: str, origin: str | None) -> None:
    """Queue a reset e-mail if the address belongs to an active member here; otherwise nothing.

    The caller answers the same either way. The work done is nearly the same too (two lookups,
    and at most one outbox row: the e-mail itself is rendered later, by the job)."""
    membership_id = await session.scalar(
        select(Membership.id)
        .join(Identity, Identity.id == Membership.identity_id)
        .where(
            Identity.email == normalize_email(email),
            Membership.tenant_id == tenant_id,
            Membership.active.is_(True),
        )
    )
    if membership_id is None:
        return
    window = int(time.time()) // RESET_WINDOW_SECONDS
    await enqueue(
        session,
        SEND_ACCOUNT_LINK,
        membership_id=membership_id,
        purpose=TokenPurpose.PASSWORD_RESET.value,
        origin=origin,
        key=f"auth.password_reset:{membership_id}:{window}",
    )


# --- redeeming them ---------------------------------------------------------------------------


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    NO_ACCESS = "no_access"

    def message(self) -> str:
        return {
            LinkProblem.UNKNOWN: _("This link is not valid: it may be incomplete, or too old to be kept."),
            LinkProblem.USED: _("This link has already been used. Each link works only once."),
            LinkProblem.EXPIRED: _("This link has expired."),
            LinkProblem.NO_ACCESS: _("This login no longer has access to this workspace."),
        }[self]


class LinkRefused(Exception):
    """The link cannot be used; `problem` says why, in words the page can show."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class LinkHolder:
    """Whom a valid link is for (the page greets them) and what it is for."""

    purpose: str
    email: str
    full_name: str


async def _problem(session: AsyncSession, token_hash: bytes, purposes: tuple[str, ...]) -> LinkProblem:
    found = await session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash, AccountToken.purpose.in_(purposes))
    )
    if found is None:
        return LinkProblem.UNKNOWN
    return LinkProblem.USED if found.used_at is not None else LinkProblem.EXPIRED


async def inspect_link(session: AsyncSession, tenant_id: UUID, token: str, purposes: tuple[str, ...]) -> LinkHolder:
    """What a link is for, without using it up (the page that asks for the password); LinkRefused
    if it cannot be used."""
    if not token:
        raise LinkRefused(LinkProblem.UNKNOWN)
    token_hash = digest(token)
    row = (
        await session.execute(
            select(AccountToken, Identity)
            .join(Identity, Identity.id == AccountToken.identity_id)
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose.in_(purposes),
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > _now(),
            )
        )
    ).first()
    if row is None:
        raise LinkRefused(await _problem(session, token_hash, purposes))
    account_token, identity = row
    if await membership_principal(session, tenant_id, identity) is None:
        raise LinkRefused(LinkProblem.NO_ACCESS)
    return LinkHolder(purpose=account_token.purpose, email=identity.email, full_name=identity.full_name)


async def _use(session: AsyncSession, token: str, purposes: tuple[str, ...]) -> tuple[Identity, str]:
    """Mark the link used and return its identity and purpose; LinkRefused if it was not usable."""
    if not token:
        raise LinkRefused(LinkProblem.UNKNOWN)
    token_hash = digest(token)
    used = (
        await session.execute(
            update(AccountToken)
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose.in_(purposes),
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > _now(),
            )
            .values(used_at=_now())
            .returning(AccountToken.identity_id, AccountToken.purpose)
        )
    ).first()
    if used is None:
        raise LinkRefused(await _problem(session, token_hash, purposes))
    identity = await session.get(Identity, used.identity_id, with_for_update=True)
    assert identity is not None  # the token's foreign key cascades on delete
    return identity, used.purpose


def password_errors(password: str, confirm: str) -> FieldErrors:
    errors = FieldErrors()
    if errors.require("password", password):
        if len(password) < MIN_LENGTH:
            errors["password"] = _("At least %(n)d characters.") % {"n": MIN_LENGTH}
        else:
            errors.max_length("password", password, MAX_PASSWORD_LENGTH)
    if "password" not in errors and confirm != password:
        errors["confirm"] = _("The two passwords are not the same.")
    return errors


async def set_password(session: AsyncSession, tenant_id: UUID, token: str, password: str, confirm: str) -> Principal:
    """Use an invitation or reset link: the password is set, the e-mail counts as verified (the
    link came by e-mail), older such links and every open session of this person here end, and
    the member to log in is returned. InvalidForm for a bad password (the link stays unused),
    LinkRefused for a bad link; raise either and the transaction changes nothing."""
    errors = password_errors(password, confirm)
    if errors:
        raise InvalidForm(errors)
    identity, purpose = await _use(session, token, PASSWORD_PURPOSES)
    principal = await membership_principal(session, tenant_id, identity)
    if principal is None:
        raise LinkRefused(LinkProblem.NO_ACCESS)
    now = _now()
    identity.password_hash = hash_password(password)
    identity.verified_at = identity.verified_at or now
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.identity_id == identity.id,
            AccountToken.purpose.in_(PASSWORD_PURPOSES),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    # Whoever knew the old password is logged out: this workspace's sessions and the apex's (other
    # workspaces' sessions are out of this tenant context's reach).
    await session.execute(delete(WebSession).where(WebSession.identity_id == identity.id))
    await session.execute(delete(ApexSession).where(ApexSession.identity_id == identity.id))
    # and the failed attempts that may have led here no longer hold the new password back
    await session.execute(delete(LoginFailure).where(LoginFailure.email == identity.email))
    await record(
        session,
        "auth.password_set",
        "membership",
        principal.membership_id,
        after={"via": purpose},
        actor=Actor.of(principal),
    )
    return principal


async def verify_email(session: AsyncSession, tenant_id: UUID, token: str) -> Identity:
    """Use an e-mail verification link; LinkRefused if it cannot be used. A link used already
    still answers with the identity once the address is confirmed: mail scanners open links
    before people do, and the person should not be told their click failed."""
    purposes = (TokenPurpose.EMAIL_VERIFICATION.value,)
    try:
        identity, _purpose = await _use(session, token, purposes)
    except LinkRefused as refusal:
        if refusal.problem != LinkProblem.USED:
            raise
        confirmed = await session.scalar(
            select(Identity)
            .join(AccountToken, AccountToken.identity_id == Identity.id)
            .where(AccountToken.token_hash == digest(token), AccountToken.purpose.in_(purposes))
        )
        if confirmed is None or confirmed.verified_at is None:
            raise
        return confirmed
    if identity.verified_at is None:
        identity.verified_at = _now()
        principal = await membership_principal(session, tenant_id, identity)
        await record(
            session,
            "auth.email_verified",
            "membership" if principal else None,
            principal.membership_id if principal else None,
            actor=Actor.of(principal)
            if principal
            else Actor(kind=ANONYMOUS, identity_id=identity.id, email=identity.email),
        )
    return identity
