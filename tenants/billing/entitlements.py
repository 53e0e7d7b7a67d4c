"""Plan limits, enforced where things are created: the service adding a staff member, a customer
portal user or an active supplier asks `ensure_room` first, in its own transaction.

The check takes a per-tenant, per-limit transaction lock, so two requests racing for the last
seat are serialised: the second one counts the first one's row and is refused.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.db import lock_for_transaction
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import Membership, MembershipKind, Supplier, Tenant
from backend.models.party import PartyStatus
from tenants.billing.plans import Limit, Module, Plan, plan_of
from tenants.isolation import context_of

UPGRADE_PATH = "/admin/billing"  # the staff billing page, where a plan is changed


class LimitReached(InvalidForm):
    """Refused by the plan, not by the input: the form shows it under "plan" with an upgrade link."""

    def __init__(self, plan: Plan, limit: Limit, allowed: int) -> None:
        message = _(
            "Your %(plan)s plan includes %(allowed)d of “%(what)s”, and all are in use. Upgrade the plan to add more."
        ) % {"plan": plan.name, "allowed": allowed, "what": limit.label}
        super().__init__(FieldErrors(plan=message))
        self.plan = plan
        self.limit = limit
        self.allowed = allowed


class ModuleNotInPlan(Exception):
    def __init__(self, plan: Plan, module: Module) -> None:
        super().__init__(
            _("Your %(plan)s plan does not include %(module)s. Upgrade the plan to use it.")
            % {"plan": plan.name, "module": module.label}
        )
        self.plan = plan
        self.module = module


def require_module(plan: Plan, module: Module) -> None:
    if module not in plan.modules:
        raise ModuleNotInPlan(plan, module)


async def usage(session: AsyncSession, limit: Limit) -> int:
    """How much of a limit the context's tenant uses now (RLS and the tenant filter both apply)."""
    tenant_id = context_of(session).tenant_id
    if limit == Limit.ACTIVE_SUPPLIERS:
        query = select(func.count()).where(Supplier.tenant_id == tenant_id, Supplier.status == PartyStatus.ACTIVE)
    else:
        kind = MembershipKind.STAFF if limit == Limit.STAFF_SEATS else MembershipKind.CUSTOMER
        query = select(func.count()).where(
            Membership.tenant_id == tenant_id, Membership.kind == kind, Membership.active.is_(True)
        )
    return await session.scalar(query) or 0


async def tenant_plan(session: AsyncSession) -> Plan:
    tenant = await session.get(Tenant, context_of(session).tenant_id)
    assert tenant is not None  # a context's tenant exists: the foreign keys say so
    return plan_of(tenant.plan)


async def ensure_room(session: AsyncSession, limit: Limit, adding: int = 1) -> None:
    """Raise LimitReached unless the tenant's plan has room for `adding` more."""
    plan = await tenant_plan(session)
    allowed = plan.limit(limit)
    if allowed is None:
        return
    tenant_id = context_of(session).tenant_id
    await lock_for_transaction(session, f"limit:{tenant_id}:{limit}")
    if await usage(session, limit) + adding > allowed:
        raise LimitReached(plan, limit, allowed)
