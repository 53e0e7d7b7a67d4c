"""The plans: the one table of what each plan costs and allows. Pages, limits, Stripe prices and
the webhook's price → plan mapping all read it; nothing else decides what a plan includes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class Module(LabelledEnum):
    SOURCING = "sourcing"
    REVERSE_AUCTIONS = "reverse_auctions"
    API_ACCESS = "api_access"

    @property
    def label(self) -> str:
        return {
            Module.SOURCING: _("Sourcing (RFQs)"),
            Module.REVERSE_AUCTIONS: _("Reverse auctions"),
            Module.API_ACCESS: _("API access"),
        }[self]


class Limit(LabelledEnum):
    STAFF_SEATS = "staff_seats"
    ACTIVE_SUPPLIERS = "active_suppliers"
    CUSTOMER_USERS = "customer_users"

    @property
    def label(self) -> str:
        return {
            Limit.STAFF_SEATS: _("Staff seats"),
            Limit.ACTIVE_SUPPLIERS: _("Active suppliers"),
            Limit.CUSTOMER_USERS: _("Customer portal users"),
        }[self]


class Interval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    monthly: Decimal  # list price per month, in CURRENCY
    yearly: Decimal  # list price per year
    trial_days: int
    limits: dict[Limit, int | None]  # None: unlimited
    modules: frozenset[Module]

    def price(self, interval: Interval) -> Decimal:
        return self.monthly if interval == Interval.MONTH else self.yearly

    def lookup_key(self, interval: Interval) -> str:
        """Stripe's handle for this plan's price: prices are found by lookup key, so an account's
        own price ids never appear in code or settings (`merkato billing sync-prices` makes them)."""
        return f"merkato_{self.code}_{interval.value}ly"

    def limit(self, limit: Limit) -> int | None:
        return self.limits[limit]

    @property
    def name(self) -> str:
        names = {"starter": _("Starter"), "growth": _("Growth"), "enterprise": _("Enterprise")}
        return names[self.code]


CURRENCY = "USD"

PLANS: dict[str, Plan] = {
    plan.code: plan
    for plan in (
        Plan(
            code="starter",
            monthly=Decimal("49"),
            yearly=Decimal("490"),
            trial_days=14,
            limits={Limit.STAFF_SEATS: 5, Limit.ACTIVE_SUPPLIERS: 25, Limit.CUSTOMER_USERS: 10},
            modules=frozenset({Module.SOURCING}),
        ),
        Plan(
            code="growth",
            monthly=Decimal("199"),
            yearly=Decimal("1990"),
            trial_days=14,
            limits={Limit.STAFF_SEATS: 25, Limit.ACTIVE_SUPPLIERS: 250, Limit.CUSTOMER_USERS: 100},
            modules=frozenset({Module.SOURCING, Module.REVERSE_AUCTIONS, Module.API_ACCESS}),
        ),
        Plan(
            code="enterprise",
            monthly=Decimal("799"),
            yearly=Decimal("7990"),
            trial_days=30,
            limits={Limit.STAFF_SEATS: None, Limit.ACTIVE_SUPPLIERS: None, Limit.CUSTOMER_USERS: None},
            modules=frozenset(Module),
        ),
    )
}

# Self-hosted workspaces (no Stripe key) and anything whose plan code is unknown get this one.
DEFAULT_PLAN = "growth"


def plan_of(code: str) -> Plan:
    return PLANS.get(code) or PLANS[DEFAULT_PLAN]


def plan_for_lookup_key(lookup_key: str | None) -> tuple[Plan, Interval] | None:
    """The plan and interval a Stripe price stands for (None: not one of ours)."""
    for plan in PLANS.values():
        for interval in Interval:
            if plan.lookup_key(interval) == lookup_key:
                return plan, interval
    return None
