"""Everything Merkato asks Stripe, through the real SDK (async, over httpx).

STRIPE_API_BASE points the SDK at another server (the project's fake Stripe in tests and the
demo). Subscriptions come back as `Subscription` values, so the rules in service.py never see
SDK objects. Every write carries an idempotency key made from our own ids: a retried request
(a timeout, a crash before our commit) is the same write to Stripe, never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import stripe

from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum
from backend.settings import Settings
from tenants.billing.access import LIVE
from tenants.billing.plans import CURRENCY, PLANS, Interval, Plan, plan_for_lookup_key


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _amount(cents: int | None) -> Decimal:
    # every currency we price in has two decimals (zero-decimal currencies would need a table)
    return (Decimal(cents or 0) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer: str
    status: str
    created: int
    item_id: str | None
    lookup_key: str | None
    trial_end: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool

    @classmethod
    def of(cls, resource: Any) -> Subscription:
        """From the SDK's object (or its dict), whose attributes are not a dict's."""
        data: dict[str, Any] = resource.to_dict() if hasattr(resource, "to_dict") else resource
        items = (data.get("items") or {}).get("data") or []
        first = items[0] if items else {}
        price = first.get("price") or {}
        return cls(
            id=data["id"],
            customer=data["customer"],
            status=data["status"],
            created=data.get("created") or 0,
            item_id=first.get("id"),
            lookup_key=price.get("lookup_key"),
            trial_end=_time(data.get("trial_end")),
            # since 2025 Stripe keeps the period on each item, not on the subscription
            current_period_end=_time(first.get("current_period_end")),
            cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        )

    @property
    def plan(self) -> tuple[Plan, Interval] | None:
        return plan_for_lookup_key(self.lookup_key)


class InvoiceStatus(LabelledEnum):
    """Every status a Stripe invoice can have."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOID = "void"

    @property
    def label(self) -> str:
        return {
            InvoiceStatus.DRAFT: _("Draft"),
            InvoiceStatus.OPEN: _("Open (unpaid)"),
            InvoiceStatus.PAID: _("Paid"),
            InvoiceStatus.UNCOLLECTIBLE: _("Uncollectible"),
            InvoiceStatus.VOID: _("Void"),
        }[self]


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    number: str | None
    status: str  # an InvoiceStatus
    created: datetime | None
    amount_due: Decimal
    currency: str
    hosted_url: str | None
    pdf_url: str | None


@dataclass(frozen=True, slots=True)
class UpcomingInvoice:
    amount_due: Decimal
    currency: str
    date: datetime | None


def current_of(subscriptions: list[Subscription]) -> Subscription | None:
    """The subscription a tenant follows among its customer's: the newest live one, else the
    newest. Chosen from Stripe's present state alone, so events in any order agree on it."""
    if not subscriptions:
        return None
    live = [s for s in subscriptions if s.status in LIVE]
    return max(live or subscriptions, key=lambda s: (s.created, s.id))


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        assert settings.stripe_secret_key, "billing is off: nothing may talk to Stripe"
        key, http = settings.stripe_secret_key, stripe.HTTPXClient()
        if settings.stripe_api_base:
            self._client = stripe.StripeClient(
                key, base_addresses={"api": settings.stripe_api_base}, http_client=http, max_network_retries=2
            )
        else:
            self._client = stripe.StripeClient(key, http_client=http, max_network_retries=2)
        self._prices: dict[str, str] = {}  # lookup key -> price id, fixed once created

    async def price_id(self, plan: Plan, interval: Interval) -> str:
        key = plan.lookup_key(interval)
        if key not in self._prices:
            found = await self._client.v1.prices.list_async({"lookup_keys": [key], "active": True, "limit": 1})
            if not found.data:
                raise LookupError(f"Stripe has no price with lookup key {key!r}: run `merkato billing sync-prices`")
            self._prices[key] = found.data[0].id
        return self._prices[key]

    async def sync_prices(self) -> list[str]:
        """Create the product and prices of every plan that Stripe does not have yet; returns the
        lookup keys it created."""
        created = []
        for plan in PLANS.values():
            for interval in Interval:
                key = plan.lookup_key(interval)
                found = await self._client.v1.prices.list_async({"lookup_keys": [key], "limit": 1})
                if found.data:
                    continue
                product = await self._client.v1.products.create_async(
                    {"name": f"Merkato {plan.code.title()}", "metadata": {"plan": plan.code}},
                    options={"idempotency_key": f"product:{plan.code}"},
                )
                await self._client.v1.prices.create_async(
                    {
                        "product": product.id,
                        "currency": CURRENCY.lower(),
                        "unit_amount": int(plan.price(interval) * 100),
                        "recurring": {"interval": interval.value},
                        "lookup_key": key,
                        "nickname": f"{plan.code.title()} ({interval.value}ly)",
                        "metadata": {"plan": plan.code},
                    },
                    options={"idempotency_key": f"price:{key}"},
                )
                created.append(key)
        return created

    async def create_customer(self, tenant_id: UUID, *, name: str, email: str) -> str:
        customer = await self._client.v1.customers.create_async(
            {"name": name, "email": email, "metadata": {"tenant_id": str(tenant_id)}},
            options={"idempotency_key": f"customer:{tenant_id}"},
        )
        return customer.id

    async def checkout_url(
        self,
        tenant_id: UUID,
        customer_id: str,
        plan: Plan,
        interval: Interval,
        *,
        success_url: str,
        cancel_url: str,
        attempt: int,
    ) -> str:
        """A Checkout Session for the plan (with its trial); `attempt` counts the tenant's tries,
        so coming back from a cancelled checkout gives a new session, a retry the same one."""
        session = await self._client.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": str(tenant_id),
                "line_items": [{"price": await self.price_id(plan, interval), "quantity": 1}],
                "subscription_data": {"trial_period_days": plan.trial_days, "metadata": {"tenant_id": str(tenant_id)}},
                "tax_id_collection": {"enabled": True},
                "customer_update": {"name": "auto", "address": "auto"},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options={"idempotency_key": f"checkout:{tenant_id}:{plan.code}:{interval}:{attempt}"},
        )
        assert session.url
        return session.url

    async def subscriptions(self, customer_id: str) -> list[Subscription]:
        found = await self._client.v1.subscriptions.list_async({"customer": customer_id, "status": "all", "limit": 100})
        return [Subscription.of(item) for item in found.data]

    async def current_subscription(self, customer_id: str) -> Subscription | None:
        return current_of(await self.subscriptions(customer_id))

    async def change_plan(
        self, tenant_id: UUID, version: int, subscription: Subscription, plan: Plan, interval: Interval
    ) -> Subscription:
        assert subscription.item_id, "a live subscription has its item"
        updated = await self._client.v1.subscriptions.update_async(
            subscription.id,
            {
                "items": [{"id": subscription.item_id, "price": await self.price_id(plan, interval)}],
                "proration_behavior": "create_prorations",
            },
            options={"idempotency_key": f"plan:{tenant_id}:{version}"},
        )
        return Subscription.of(updated)

    async def cancel_at_period_end(
        self, tenant_id: UUID, version: int, subscription: Subscription, *, cancel: bool
    ) -> Subscription:
        updated = await self._client.v1.subscriptions.update_async(
            subscription.id,
            {"cancel_at_period_end": cancel},
            options={"idempotency_key": f"cancel:{tenant_id}:{version}"},
        )
        return Subscription.of(updated)

    async def portal_url(self, customer_id: str, *, return_url: str, key: str) -> str:
        portal = await self._client.v1.billing_portal.sessions.create_async(
            {"customer": customer_id, "return_url": return_url}, options={"idempotency_key": key}
        )
        return portal.url

    async def invoices(self, customer_id: str, limit: int = 24) -> list[Invoice]:
        found = await self._client.v1.invoices.list_async({"customer": customer_id, "limit": limit})
        return [
            Invoice(
                id=item["id"],
                number=item.get("number"),
                status=item.get("status") or "",
                created=_time(item.get("created")),
                amount_due=_amount(item.get("amount_due")),
                currency=(item.get("currency") or CURRENCY).upper(),
                hosted_url=item.get("hosted_invoice_url"),
                pdf_url=item.get("invoice_pdf"),
            )
            for item in (invoice.to_dict() for invoice in found.data)
        ]

    async def upcoming(self, customer_id: str, subscription_id: str) -> UpcomingInvoice | None:
        try:
            preview = (
                await self._client.v1.invoices.create_preview_async(
                    {"customer": customer_id, "subscription": subscription_id}
                )
            ).to_dict()
        except stripe.InvalidRequestError:
            return None  # nothing upcoming (canceled, say)
        currency = (preview.get("currency") or CURRENCY).upper()
        when = preview.get("next_payment_attempt") or preview.get("period_end")
        return UpcomingInvoice(amount_due=_amount(preview.get("amount_due")), currency=currency, date=_time(when))
