"""What the owner's billing page reads from the database: the workspace's plan and how much of
each of its limits is in use. (Invoices come from Stripe, through the gateway.)"""

from __future__ import annotations

from dataclasses import dataclass

from backend.models import Tenant
from tenants.billing.entitlements import usage
from tenants.billing.plans import Limit, Plan, plan_of
from tenants.context import TenantContext
from tenants.isolation import Database


@dataclass(frozen=True, slots=True)
class Usage:
    limit: Limit
    used: int
    allowed: int | None  # None: the plan sets no limit

    @property
    def label(self) -> str:
        return self.limit.label


@dataclass(frozen=True, slots=True)
class PlanStanding:
    tenant: Tenant
    plan: Plan
    usage: list[Usage]


async def plan_standing(database: Database, context: TenantContext) -> PlanStanding:
    """Read in a transaction of its own, like the billing service's changes: the billing pages
    stay open to an owner whose workspace is read-only for want of payment."""
    async with database.transaction(context) as session:
        tenant = await session.get(Tenant, context.tenant_id)
        assert tenant is not None  # the context's own tenant
        plan = plan_of(tenant.plan)
        used = [Usage(limit, await usage(session, limit), plan.limit(limit)) for limit in Limit]
    return PlanStanding(tenant, plan, used)
