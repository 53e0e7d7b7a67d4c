"""The tenant directory: creating tenants and finding one by its slug (cached briefly per process)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Tenant, TenantStatus
from tenants.billing.access import Access, access_for
from tenants.billing.plans import DEFAULT_PLAN, Plan, plan_of
from tenants.context import NO_CONTEXT
from tenants.isolation import Database, allow_lookup

SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
# Host names that must never become a workspace.
RESERVED_SLUGS = frozenset(
    {
        *("www", "api", "app", "admin", "mail", "smtp", "static", "assets", "cdn", "status", "help", "docs"),
        *("billing", "signup", "pricing", "login", "webhooks", "stripe", "support", "merkato", "blog"),
    }
)


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: UUID
    slug: str
    name: str
    status: str
    locale: str
    currency: str
    timezone: str
    plan_code: str
    subscription_status: str | None
    past_due_since: datetime | None
    trial_end: datetime | None

    @property
    def plan(self) -> Plan:
        return plan_of(self.plan_code)

    def access(self, grace: timedelta, now: datetime | None = None) -> Access:
        """Computed per request, not cached: a grace period ends on the clock, not on an event."""
        return access_for(self.subscription_status, self.past_due_since, now=now or datetime.now(UTC), grace=grace)


def _info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        locale=tenant.locale,
        currency=tenant.currency,
        timezone=tenant.timezone,
        plan_code=tenant.plan,
        subscription_status=tenant.subscription_status,
        past_due_since=tenant.past_due_since,
        trial_end=tenant.trial_end,
    )


class SlugRejected(ValueError):
    pass


def slug_problem(slug: str) -> str | None:
    """Why this can never be a workspace address ("format" or "reserved"), or None."""
    if not SLUG.match(slug):
        return "format"
    if slug in RESERVED_SLUGS:
        return "reserved"
    return None


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    await allow_lookup(session, slug=slug)
    return await session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None


async def create_tenant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    locale: str = "en",
    currency: str = "USD",
    timezone: str = "UTC",
    status: TenantStatus = TenantStatus.ACTIVE,
    plan: str = DEFAULT_PLAN,
    tenant_id: UUID | None = None,
) -> Tenant:
    slug = slug.strip().lower()
    if slug_problem(slug):
        raise SlugRejected(slug)
    tenant = Tenant(slug=slug, name=name, locale=locale, currency=currency, timezone=timezone, status=status, plan=plan)
    if tenant_id is not None:  # chosen first, so the transaction creating it can carry its context
        tenant.id = tenant_id
    session.add(tenant)
    await session.flush()
    return tenant


class TenantDirectory:
    """slug -> TenantInfo for active tenants; a short TTL bounds how stale another process's view is."""

    def __init__(self, db: Database, ttl_seconds: float = 10.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, TenantInfo | None]] = {}

    def forget(self, slug: str) -> None:
        """Drop the cached entry: this process just changed the tenant (its subscription, say)."""
        self._cache.pop(slug, None)

    async def find(self, slug: str) -> TenantInfo | None:
        now = time.monotonic()
        cached = self._cache.get(slug)
        if cached and cached[0] > now:
            return cached[1]
        info = None
        if SLUG.match(slug):
            async with self._db.transaction(NO_CONTEXT) as session:
                # RLS shows a tenant to no one but its own people and the lookup of its slug
                await allow_lookup(session, slug=slug)
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
            if tenant is not None and tenant.status == TenantStatus.ACTIVE:
                info = _info(tenant)
        if len(self._cache) > 10_000:  # unknown slugs must not grow the cache without bound
            self._cache.clear()
        self._cache[slug] = (now + self._ttl, info)
        return info
