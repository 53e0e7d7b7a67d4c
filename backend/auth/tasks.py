"""Jobs of the auth domain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.registry import job
from backend.models import AccountToken, LoginTicket, WebSession


@job("auth.purge_expired")
async def purge_expired(session: AsyncSession) -> None:
    """Nightly, per tenant: drop sessions, tickets and one-time links that can never be used again."""
    now = datetime.now(UTC)
    await session.execute(delete(WebSession).where(WebSession.expires_at < now))
    await session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
    await session.execute(delete(AccountToken).where(AccountToken.expires_at < now))
