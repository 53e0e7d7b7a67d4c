"""Database base classes, naming convention and engine construction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, MetaData, func, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.kit.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

APP_ROLE = "merkato_app"
# the outbox relay: reads and republishes every tenant's due jobs, and can touch nothing else
RELAY_ROLE = "merkato_relay"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TenantOwned(Timestamped):
    """A row that belongs to one tenant: primary key (tenant_id, id), RLS in the migration."""

    # sort_order puts tenant_id first in the table and so first in the primary key
    tenant_id: Mapped[UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True, sort_order=-2)
    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-1)


def to_async_url(url: str) -> str:
    """Accept the usual postgres:// spellings and select the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def make_engine(url: str, *, role: str | None, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    """An engine; with a role every connection runs as that role from its first packet.

    The role rides in the startup packet, so there is no window in which a pooled connection
    could run a query as the owner.
    """
    connect_args: dict[str, Any] = {}
    if role:
        connect_args["server_settings"] = {"role": role}
    return create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,  # pool_size is the ceiling: the database's connection budget is planned on it
        pool_pre_ping=False,
        # transactions are opened by tenants.isolation.Database together with their context
        isolation_level="AUTOCOMMIT",
        connect_args=connect_args,
        **kwargs,
    )


async def lock_for_transaction(session: AsyncSession, key: str) -> None:
    """Wait until no other transaction holds `key`, then hold it until this one ends: for a
    check-then-write (a count against a limit, the next version number) that a row lock cannot
    cover because the row does not exist yet."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
