"""Throttling password guesses without handing anyone a way to lock someone else out.

Every failure counts against the client address it came from; it also counts against the e-mail
(per address, and overall) only when the e-mail names a member of the place it was tried on: a
stranger typing a person's address into some other workspace slows down only the stranger.

- One address that keeps failing waits, with delays that double (ADDRESS_FREE failures an hour
  are free); one e-mail from one address likewise (PAIR_FREE). Both delays are the guesser's own.
- Many failures on one e-mail from everywhere (a distributed guess) never lock the person out:
  from then on the right password alone does not start a session; it e-mails the person a link
  that does (backend/auth/service.py), and every answer looks the same whether the password was
  right or not, so the guesser learns nothing either.

The counts live in PostgreSQL (login_failures), so every web process sees the same ones; the
coarse per-address request limit in front of the public forms is Litestar's rate-limit
middleware (backend/app.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import LoginFailure
from tenants.isolation import allow_lookup

WINDOW = timedelta(hours=1)
ADDRESS_FREE = 30  # failures from one client address per window before it has to wait
PAIR_FREE = 5  # failures for one e-mail from one address per window before it has to wait
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 900


def _now() -> datetime:
    return datetime.now(UTC)


def delay_seconds(failures: int, free: int) -> int:
    """How long after the last failure the next attempt must wait: nothing while failures are
    within the free allowance, then 15, 30, 60 ... seconds, at most MAX_DELAY_SECONDS."""
    if failures < free:
        return 0
    return int(min(FIRST_DELAY_SECONDS * 2 ** (failures - free), MAX_DELAY_SECONDS))


async def _wait(session: AsyncSession, free: int, *conditions: object) -> int:
    count, last = (
        await session.execute(
            select(func.count(), func.max(LoginFailure.failed_at)).where(
                LoginFailure.failed_at > _now() - WINDOW,
                *conditions,  # type: ignore[arg-type]
            )
        )
    ).one()
    if not count or last is None:
        return 0
    remaining = last + timedelta(seconds=delay_seconds(count, free)) - _now()
    return max(0, int(remaining.total_seconds() + 0.999))


async def wait_seconds(session: AsyncSession, email: str, client: str) -> int:
    """Seconds this address must still wait before trying this e-mail again (0: go ahead)."""
    await allow_lookup(session, email=email, client=client)
    by_address = await _wait(session, ADDRESS_FREE, LoginFailure.client_address == client)
    by_pair = await _wait(session, PAIR_FREE, LoginFailure.client_address == client, LoginFailure.email == email)
    return max(by_address, by_pair)


async def record_failure(session: AsyncSession, client: str, *, email: str | None) -> None:
    """A failed attempt from `client`, counted against `email` too when it names a member of the
    place it was tried on (None: against the address only). Rows past the window go."""
    await allow_lookup(session, email=email, client=client)
    old = LoginFailure.failed_at < _now() - WINDOW
    await session.execute(delete(LoginFailure).where(LoginFailure.client_address == client, old))
    if email is not None:
        await session.execute(delete(LoginFailure).where(LoginFailure.email == email, old))
    session.add(LoginFailure(email=email, client_address=client, failed_at=_now()))
    await session.flush()


async def under_attack(session: AsyncSession, email: str, limit: int) -> bool:
    """Whether this e-mail failed `limit` times or more in the window, from anywhere."""
    await allow_lookup(session, email=email)
    count = await session.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.failed_at > _now() - WINDOW)
    )
    return (count or 0) >= limit


async def forget(session: AsyncSession, email: str) -> None:
    """A new password: the failures that may have led to it no longer hold it back."""
    await allow_lookup(session, email=email)
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))
