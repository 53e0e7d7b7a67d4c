"""One-time links to a mailbox: asking for them, the job that makes and mails them, and using them.

A link is the only proof that an address is someone's: using one verifies the address, and only
then may its person choose a password (backend/auth/identities.py). Links are addressed to an
e-mail, not to a workspace's member, so no workspace can hand one to somebody else; where a link
leads (`workspace_id`; None for the apex) is where it may be used.

We keep only the SHA-256 of a link's secret; the secret itself exists only in the e-mail that is
sent. A link is single use: the UPDATE that marks it used is the check, so two clicks cannot both
win. A new link of a purpose voids the older unused ones of that address and place.

Whoever asks for a link gets the same answer whether the address exists or not: the request only
queues the job, and the job decides what applies (a link, a note that the person has access
already, or nothing).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import identities, throttle
from backend.auth.passwords import MIN_LENGTH
from backend.auth.steps import elevated_step
from backend.auth.tokens import digest, new_secret
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import AccountLink, Identity, LinkPurpose, Membership, Tenant, TenantStatus
from tenants.isolation import Database, act_as, allow_lookup

SEND_LINK = "auth.send_link"
MAX_PASSWORD_LENGTH = 1000
# One e-mail per address, purpose and place per window, however often a form is sent: the forms
# are open to anyone and must not become a way to flood someone's inbox.
WINDOW_SECONDS = 300

LIFETIMES: dict[str, timedelta] = {
    LinkPurpose.INVITATION: timedelta(days=7),
    LinkPurpose.PASSWORD_RESET: timedelta(hours=1),
    LinkPurpose.REGISTRATION: timedelta(days=2),
    LinkPurpose.SIGNUP: timedelta(days=2),
    LinkPurpose.UNLOCK: timedelta(minutes=15),
}
PASSWORD_PURPOSES = (LinkPurpose.INVITATION.value, LinkPurpose.PASSWORD_RESET.value)


def _now() -> datetime:
    return datetime.now(UTC)


def window() -> int:
    return int(time.time()) // WINDOW_SECONDS


async def ask(
    session: AsyncSession,
    purpose: LinkPurpose,
    email: str,
    *,
    workspace_id: UUID | None,
    payload: dict[str, Any] | None = None,
    once_per_window: bool = True,
) -> None:
    """Queue the job that mails a link of `purpose` to `email`, in the caller's transaction (whose
    tenant hosts the job and the e-mail). At most one per address, purpose and place per window
    unless `once_per_window` is off (a person added by staff gets theirs at once, every time)."""
    email = identities.normalize_email(email)
    place = workspace_id or "apex"
    key = f"{SEND_LINK}:{purpose.value}:{place}:{email}"
    key += f":{window()}" if once_per_window else f":{time.time_ns()}"
    await enqueue(
        session,
        SEND_LINK,
        key=key,
        purpose=purpose.value,
        email=email,
        workspace_id=str(workspace_id) if workspace_id else None,
        payload=payload or {},
    )


def _leads_to(workspace_id: UUID | None) -> Any:
    return AccountLink.workspace_id.is_(None) if workspace_id is None else AccountLink.workspace_id == workspace_id


async def create(
    session: AsyncSession, purpose: LinkPurpose, email: str, *, workspace_id: UUID | None, payload: dict[str, Any]
) -> str:
    """A new link (its secret, to be mailed at once and never stored); older unused links of this
    address, purpose and place stop working. Runs in a system context (the send job)."""
    email = identities.normalize_email(email)
    await allow_lookup(session, email=email)
    await session.execute(
        update(AccountLink)
        .where(
            AccountLink.email == email,
            AccountLink.purpose == purpose.value,
            _leads_to(workspace_id),
            AccountLink.used_at.is_(None),
        )
        .values(used_at=_now())
    )
    token, token_hash = new_secret()
    session.add(
        AccountLink(
            email=email,
            purpose=purpose.value,
            workspace_id=workspace_id,
            payload=payload,
            token_hash=token_hash,
            expires_at=_now() + LIFETIMES[purpose],
        )
    )
    await session.flush()
    return token


# --- using them -------------------------------------------------------------------------------


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
    """Whom a valid link is for (the page greets them), what it is for, and what it carries."""

    purpose: str
    email: str
    workspace_id: UUID | None
    payload: dict[str, Any]
    identity: Identity | None  # None: the address has no Merkato identity yet

    @property
    def has_password(self) -> bool:
        return self.identity is not None and self.identity.has_password

    @property
    def full_name(self) -> str:
        return self.identity.full_name if self.identity else str(self.payload.get("full_name", ""))


async def _usable(
    session: AsyncSession, token: str, purposes: tuple[str, ...], workspace_id: UUID | None, *, use: bool
) -> AccountLink:
    if not token:
        raise LinkRefused(LinkProblem.UNKNOWN)
    token_hash = digest(token)
    await allow_lookup(session, token_hash=token_hash)
    # a link of another purpose, or one that leads to another workspace (or the apex), is no link here
    this_link = (AccountLink.token_hash == token_hash, AccountLink.purpose.in_(purposes), _leads_to(workspace_id))
    usable = (AccountLink.used_at.is_(None), AccountLink.expires_at > _now())
    if use:
        statement = update(AccountLink).where(*this_link, *usable).values(used_at=_now()).returning(AccountLink)
        link = await session.scalar(statement)
    else:
        link = await session.scalar(select(AccountLink).where(*this_link, *usable))
    if link is None:
        found = await session.scalar(select(AccountLink).where(*this_link))
        if found is None:
            raise LinkRefused(LinkProblem.UNKNOWN)
        raise LinkRefused(LinkProblem.USED if found.used_at is not None else LinkProblem.EXPIRED)
    return link


async def inspect(
    session: AsyncSession, token: str, purposes: tuple[str, ...], *, workspace_id: UUID | None
) -> LinkHolder:
    """What a link is for, without using it up (the page that asks for the password); LinkRefused
    if it cannot be used here."""
    return await _holder(session, await _usable(session, token, purposes, workspace_id, use=False))


async def use(session: AsyncSession, token: str, purposes: tuple[str, ...], *, workspace_id: UUID | None) -> LinkHolder:
    """Use the link up; LinkRefused if it cannot be used here. Raise anything after this and the
    transaction rolls back, leaving the link unused."""
    return await _holder(session, await _usable(session, token, purposes, workspace_id, use=True))


async def _holder(session: AsyncSession, link: AccountLink) -> LinkHolder:
    return LinkHolder(
        purpose=link.purpose,
        email=link.email,
        workspace_id=link.workspace_id,
        payload=dict(link.payload),
        identity=await identities.find(session, link.email),
    )


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


async def prove_and_choose(
    session: AsyncSession, holder: LinkHolder, *, full_name: str, password: str, confirm: str
) -> Identity:
    """What using any link does for its address: the identity (created if the address had none)
    is verified, and one that has no password yet chooses it now (InvalidForm for a bad one; the
    caller's transaction then rolls back with the link unused)."""
    needs_password = not holder.has_password
    if needs_password and (errors := password_errors(password, confirm)):
        raise InvalidForm(errors)
    identity = holder.identity or await identities.find_or_create(session, holder.email, full_name or holder.full_name)
    await identities.prove_address(session, identity)
    if needs_password:
        await identities.set_password(session, identity, password)
        await throttle.forget(session, identity.email)
    return identity


async def choose_password(
    session: AsyncSession, token: str, password: str, confirm: str, *, workspace_id: UUID | None
) -> Identity:
    """Use an invitation or reset link: the address is verified and the password set (which ends
    every older session and token of the person, everywhere); the other such links of the address
    stop working. InvalidForm for a bad password (the link stays unused), LinkRefused for a bad
    link."""
    if errors := password_errors(password, confirm):
        raise InvalidForm(errors)
    holder = await use(session, token, PASSWORD_PURPOSES, workspace_id=workspace_id)
    if holder.identity is None:
        raise LinkRefused(LinkProblem.UNKNOWN)
    identity = holder.identity
    await identities.prove_address(session, identity)
    await identities.set_password(session, identity, password)
    await throttle.forget(session, identity.email)
    await allow_lookup(session, email=identity.email)
    await session.execute(
        update(AccountLink)
        .where(
            AccountLink.email == identity.email,
            AccountLink.purpose.in_(PASSWORD_PURPOSES),
            AccountLink.used_at.is_(None),
        )
        .values(used_at=_now())
    )
    return identity


async def host_of(session: AsyncSession, email: str) -> UUID | None:
    """A tenant to host an apex e-mail to this address (jobs and mail belong to a tenant): one of
    its person's workspaces, or None for an address with no login anywhere. Outside any tenant,
    acting as the identity, RLS shows its own memberships only."""
    identity = await identities.find(session, email)
    if identity is None:
        return None
    await act_as(session, identity.id)
    tenant_id: UUID | None = await session.scalar(
        select(Membership.tenant_id)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .order_by(Membership.active.desc(), (Tenant.status == TenantStatus.ACTIVE).desc(), Membership.created_at)
        .limit(1)
    )
    return tenant_id


async def ask_on_apex(db: Database, purpose: LinkPurpose, email: str) -> None:
    """A link that leads to the apex (a password reset there, an unlock), mailed through one of
    the person's workspaces; nothing for an address without a login. The named anonymous step of
    the apex's forms: two short transactions, neither elevated beyond the one identity."""
    async with elevated_step(db, None) as session:
        host = await host_of(session, email)
    if host is None:
        return
    async with elevated_step(db, host) as session:
        await ask(session, purpose, email, workspace_id=None)
