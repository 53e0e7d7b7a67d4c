"""Global identities and their passwords: the one module that finds an identity by e-mail, creates
one, proves its address and sets its password.

One identity serves every workspace a person works with, so whatever one workspace could do to it,
it could do to that person everywhere. Hence the rules, stated here and enforced again by the
database (migration 0009):
- anyone may create an identity for an e-mail, but a new one has no password and proves nothing;
- an address is proved only by using a one-time link sent to it (backend/auth/links.py), or by the
  operator (the demo, `merkato users create`);
- a password exists only for a proved address, and is set only in a transaction acting as that
  identity; no workspace action can set, clear or verify it;
- setting one moves the identity's credential epoch (a trigger), which ends every older session,
  ticket and API token of the person, in every workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.passwords import hash_password
from backend.models import Credential, Identity
from tenants.isolation import act_as, allow_lookup


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def find(session: AsyncSession, email: str) -> Identity | None:
    """The identity of this e-mail, if any (the lookup is named for the transaction: RLS shows no
    other identity than those the caller may see anyway)."""
    email = normalize_email(email)
    await allow_lookup(session, email=email)
    identity: Identity | None = await session.scalar(select(Identity).where(Identity.email == email))
    return identity


async def find_or_create(session: AsyncSession, email: str, full_name: str) -> Identity:
    """The identity of this e-mail, created (unproven, without a password) if there is none.
    Creating one gives nobody anything: it only names a mailbox that links may be sent to."""
    identity = await find(session, email)
    if identity is None:
        identity = Identity(email=normalize_email(email), full_name=full_name.strip()[:200])
        session.add(identity)
        await session.flush()
    return identity


async def password_hash(session: AsyncSession, identity: Identity) -> str | None:
    """The login step's read of a password hash (in a system context, for the e-mail looked up)."""
    await allow_lookup(session, email=identity.email)
    hashed: str | None = await session.scalar(
        select(Credential.password_hash).where(Credential.identity_id == identity.id)
    )
    return hashed


async def prove_address(session: AsyncSession, identity: Identity) -> None:
    """The address received what was sent to it: from now on the identity may have a password.
    Only link redemption and the operator call this."""
    await act_as(session, identity.id)
    if identity.verified_at is None:
        identity.verified_at = datetime.now(UTC)
        await session.flush()


async def set_password(session: AsyncSession, identity: Identity, password: str) -> None:
    await set_password_hash(session, identity, hash_password(password))


async def set_password_hash(session: AsyncSession, identity: Identity, hashed: str) -> None:
    """Store a password for a proved identity, acting as it; the database moves its credential
    epoch, and this identity object is refreshed to show the new one."""
    if identity.verified_at is None:
        raise ValueError("a password needs a proved address")
    await act_as(session, identity.id)
    await session.execute(
        insert(Credential)
        .values(identity_id=identity.id, password_hash=hashed)
        .on_conflict_do_update(
            index_elements=[Credential.identity_id],
            set_={"password_hash": hashed, "changed_at": datetime.now(UTC)},
        )
    )
    await session.refresh(identity, ["credential_epoch", "password_set_at"])
