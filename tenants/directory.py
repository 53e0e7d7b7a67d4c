"""The tenant directory: creating tenants and finding one by its slug (cached briefly per process)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Tenant, TenantStatus
from tenants.context import NO_CONTEXT
from tenants.isolation import Database

SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
# Host names that must never become a workspace.
RESERVED_SLUGS = frozenset({"www", "api", "app", "admin", "mail", "static", "status", "help", "docs", "billing"})


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: UUID
    slug: str
    name: str
    status: str
    locale: str
    currency: str
    timezone: str


def _info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        locale=tenant.locale,
        currency=tenant.currency,
        timezone=tenant.timezone,
    )


class SlugRejected(ValueError):
    pass


async def create_tenant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    locale: str = "en",
    currency: str = "USD",
    timezone: str = "UTC",
    status: TenantStatus = TenantStatus.ACTIVE,
) -> Tenant:
    slug = slug.strip().lower()
    if not SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise SlugRejected(slug)
    tenant = Tenant(slug=slug, name=name, locale=locale, currency=currency, timezone=timezone, status=status)
    session.add(tenant)
    await session.flush()
    return tenant


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    return list(await session.scalars(select(Tenant).order_by(Tenant.slug)))


class TenantDirectory:
    """slug -> TenantInfo for active tenants; a short TTL bounds how stale another process's view is."""

    def __init__(self, db: Database, ttl_seconds: float = 10.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, TenantInfo | None]] = {}

    async def find(self, slug: str) -> TenantInfo | None:
        now = time.monotonic()
        cached = self._cache.get(slug)
        if cached and cached[0] > now:
            return cached[1]
        info = None
        if SLUG.match(slug):
            async with self._db.transaction(NO_CONTEXT) as session:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is not None and tenant.status == TenantStatus.ACTIVE:
                info = _info(tenant)
        if len(self._cache) > 10_000:  # unknown slugs must not grow the cache without bound
            self._cache.clear()
        self._cache[slug] = (now + self._ttl, info)
        return info
