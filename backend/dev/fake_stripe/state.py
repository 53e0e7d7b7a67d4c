"""The fake Stripe's in-memory account: customers, products, prices, Checkout and portal sessions,
subscriptions and invoices, the event log, and the billing engine the fake clock drives.

Every operation here is synchronous and validates before it changes anything, so a 4xx leaves the
state as it was; the server runs them on one event loop and then awaits webhook delivery. How the
objects look on the wire is render.py's business.

What the clock does (FakeStripe.advance), in time order: trial_will_end 3 days before a trial ends;
at a period end, cancel (cancel_at) or renew (an invoice, charged at once; a declined card makes the
subscription past_due and schedules smart retries 3, 5 and 7 days after the first failure, after
which it is unpaid); an incomplete subscription expires after 23 hours; an open Checkout Session
after 24 hours.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from backend.dev.fake_stripe.model import (
    DAY,
    HOUR,
    CheckoutLine,
    CheckoutSession,
    Customer,
    FakeClock,
    IdempotentResult,
    Invoice,
    LineItem,
    PortalSession,
    Price,
    Product,
    Subscription,
    SubscriptionItem,
    format_amount,
    format_date,
    new_id,
    period_boundary,
)
from backend.dev.fake_stripe.params import (
    Params,
    StripeApiError,
    get_bool,
    get_dict,
    get_int,
    get_list,
    get_str,
    merge_metadata,
    no_such,
    require_str,
)
from backend.dev.fake_stripe.render import Renderer
from backend.dev.fake_stripe.webhooks import WebhookEndpoint, WebhookSender

API_VERSION = "2026-10-28.endive"  # the version the installed SDK (stripe 16.1) pins
TRIAL_WILL_END_BEFORE = 3 * DAY
RETRY_AFTER_FIRST_FAILURE = (3 * DAY, 5 * DAY, 7 * DAY)
INCOMPLETE_EXPIRES_AFTER = 23 * HOUR
CHECKOUT_EXPIRES_AFTER = 24 * HOUR
SUBSCRIPTION_STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
)
# statuses in which a subscription still runs periods and produces invoices
BILLING_STATUSES = ("trialing", "active", "past_due", "unpaid")
ENDED_STATUSES = ("canceled", "incomplete_expired")
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
INTERVALS = ("day", "week", "month", "year")


@dataclass
class _PlanChange:
    """A subscription's items after an update, and the prorations the change earns."""

    items: list[SubscriptionItem]
    prorations: list[LineItem]
    interval_changed: bool
    proration_date: int


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's previous_attributes: the old value of every top-level field that changed."""
    return {key: value for key, value in before.items() if after.get(key) != value}


def _invoice_prefix() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


class FakeStripe(Renderer):
    """One fake Stripe account, its clock and its webhook endpoints.

    Mutate it only from the event loop that serves it (the HTTP API does); `advance` and `deliver`
    are awaited there. Reading attributes from elsewhere (a test's thread) is fine.
    """

    def __init__(
        self,
        *,
        public_base: str = "",
        endpoints: Iterable[WebhookEndpoint | tuple[str, str]] = (),
        now: int | None = None,
        delivery_timeout: float = 10.0,
    ) -> None:
        self.public_base = public_base.rstrip("/")
        self.clock = FakeClock(now)
        self.webhooks = WebhookSender(
            (item if isinstance(item, WebhookEndpoint) else WebhookEndpoint(url=item[0], secret=item[1]))
            for item in endpoints
        )
        self.webhooks.timeout = delivery_timeout
        self.portal_configuration = new_id("bpc_")
        self._clear()

    def _clear(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.products: dict[str, Product] = {}
        self.prices: dict[str, Price] = {}
        self.checkout_sessions: dict[str, CheckoutSession] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.invoices: dict[str, Invoice] = {}
        self.portal_sessions: dict[str, PortalSession] = {}
        self.events: list[dict[str, Any]] = []
        self.events_by_id: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, IdempotentResult] = {}
        self._request: tuple[str | None, str | None] = (None, None)

    # ------------------------------------------------------------------ clock, events, delivery

    @property
    def now(self) -> int:
        return self.clock.now

    def reset(self, now: int | None = None) -> None:
        """Forget every object, event, delivery and idempotency key; the clock goes back to the real
        time (or `now`). Webhook endpoints and the delivery switch stay as configured."""
        self._clear()
        self.webhooks.clear()
        self.clock.reset(now)

    def add_endpoint(
        self, url: str, secret: str | None = None, enabled_events: Iterable[str] | None = None
    ) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(url=url)
        if secret:
            endpoint.secret = secret
        if enabled_events is not None:
            endpoint.enabled_events = tuple(enabled_events) or ("*",)
        self.webhooks.endpoints.append(endpoint)
        return endpoint

    async def deliver(self) -> None:
        """Send every event not yet delivered (see webhooks.py for the ordering rules)."""
        await self.webhooks.flush()

    async def advance(self, seconds: int) -> list[str]:
        """Move the clock forward, process what fell due, deliver the events; their ids, oldest first."""
        event_ids = self.advance_clock(seconds)
        await self.deliver()
        return event_ids

    def advance_clock(self, seconds: int) -> list[str]:
        """The synchronous half of `advance`: process and record, but do not deliver."""
        if seconds < 0:
            raise StripeApiError(400, "The fake clock only moves forward.", param="seconds")
        first = len(self.events)
        self._process_due(self.now + seconds)
        return [event["id"] for event in self.events[first:]]

    def settle(self) -> None:
        """Process whatever is due at the current time (e.g. a trial shorter than 3 days)."""
        self._process_due(self.now)

    @contextmanager
    def request_context(self, request_id: str | None, idempotency_key: str | None) -> Iterator[None]:
        """Events created inside name the API request that caused them, as Stripe's do."""
        self._request = (request_id, idempotency_key)
        try:
            yield
        finally:
            self._request = (None, None)

    def _emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        request_id, idempotency_key = self._request
        event: dict[str, Any] = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now,
            "data": data,
            "livemode": False,
            "pending_webhooks": len(self.webhooks.subscribers(event_type)),
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        }
        self.events.append(event)
        self.events_by_id[event["id"]] = event
        self.webhooks.enqueue(event)
        return event

    def _emit_subscription_update(self, subscription: Subscription, before: dict[str, Any]) -> None:
        after = self.render_subscription(subscription)
        previous = _changes(before, after)
        if previous:
            self._emit("customer.subscription.updated", after, previous)

    def _process_due(self, target: int) -> None:
        # one action at a time, earliest first, the clock set to its moment so every timestamp and
        # event is dated when it happened; an action may schedule another (a retry) inside the window
        for _ in range(100_000):
            due = self._next_due(target)
            if due is None:
                break
            at, action = due
            self.clock.move_to(max(at, self.now))
            action()
        else:
            raise RuntimeError("the fake Stripe clock did not settle")
        self.clock.move_to(max(target, self.now))

    def _next_due(self, target: int) -> tuple[int, Callable[[], object]] | None:
        best: tuple[int, int, int, Callable[[], object]] | None = None

        def consider(at: int, rank: int, order: int, action: Callable[[], object]) -> None:
            nonlocal best
            if at <= target and (best is None or (at, rank, order) < best[:3]):
                best = (at, rank, order, action)

        for order, sub in enumerate(self.subscriptions.values()):
            if sub.status == "trialing" and sub.trial_end is not None and not sub.trial_will_end_sent:
                consider(
                    max(sub.trial_end - TRIAL_WILL_END_BEFORE, sub.created),
                    0,
                    order,
                    partial(self._trial_will_end, sub),
                )
            if sub.status in BILLING_STATUSES:
                if sub.cancel_at is not None and sub.cancel_at <= sub.current_period_end:
                    consider(sub.cancel_at, 1, order, partial(self._end_subscription, sub, None))
                else:
                    consider(sub.current_period_end, 2, order, partial(self._renew, sub))
            elif sub.status == "incomplete":
                consider(sub.created + INCOMPLETE_EXPIRES_AFTER, 1, order, partial(self._expire_incomplete, sub))
        for order, invoice in enumerate(self.invoices.values()):
            if invoice.status == "open" and invoice.next_payment_attempt is not None:
                consider(invoice.next_payment_attempt, 3, order, partial(self._attempt, invoice))
        for order, session in enumerate(self.checkout_sessions.values()):
            if session.status == "open":
                consider(session.expires_at, 4, order, partial(self._expire_checkout_session, session))
        return None if best is None else (best[0], best[3])

    # ------------------------------------------------------------------ lookups

    def _customer(self, customer_id: str, param: str | None = None) -> Customer:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id, param or "id", 400 if param else 404)
        return customer

    def _price(self, price_id: str, param: str | None = None) -> Price:
        price = self.prices.get(price_id)
        if price is None:
            raise no_such("price", price_id, param or "id", 400 if param else 404)
        return price

    def _subscription(self, subscription_id: str, param: str | None = None) -> Subscription:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise no_such("subscription", subscription_id, param or "id", 400 if param else 404)
        return subscription

    def _invoice(self, invoice_id: str) -> Invoice:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise no_such("invoice", invoice_id)
        return invoice

    def checkout_session(self, session_id: str) -> CheckoutSession:
        session = self.checkout_sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id)
        return session

    def portal_session(self, session_id: str) -> PortalSession:
        session = self.portal_sessions.get(session_id)
        if session is None:
            raise no_such("billing_portal.session", session_id)
        return session

    def invoice(self, invoice_id: str) -> Invoice:
        return self._invoice(invoice_id)

    # ------------------------------------------------------------------ customers

    def create_customer(self, params: Params) -> dict[str, Any]:
        customer = Customer(
            id=new_id("cus_", 14),
            created=self.now,
            email=get_str(params, "email"),
            name=get_str(params, "name"),
            description=get_str(params, "description"),
            phone=get_str(params, "phone"),
            metadata=merge_metadata({}, params.get("metadata")),
            invoice_prefix=_invoice_prefix(),
        )
        self.customers[customer.id] = customer
        rendered = self.render_customer(customer)
        self._emit("customer.created", self.render_customer(customer))
        return rendered

    def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        return self.render_customer(self._customer(customer_id))

    def update_customer(self, customer_id: str, params: Params) -> dict[str, Any]:
        customer = self._customer(customer_id)
        metadata = merge_metadata(customer.metadata, params.get("metadata"))
        before = self.render_customer(customer)
        for name in ("email", "name", "description", "phone"):
            if name in params:
                setattr(customer, name, get_str(params, name))
        customer.metadata = metadata
        after = self.render_customer(customer)
        previous = _changes(before, after)
        if previous:
            self._emit("customer.updated", self.render_customer(customer), previous)
        return after

    def list_customers(self, params: Params) -> dict[str, Any]:
        email = get_str(params, "email")
        found = [c for c in reversed(self.customers.values()) if email is None or c.email == email]
        return self.list_object("/v1/customers", [self.render_customer(c) for c in found], params)

    def set_card(self, customer_id: str, fails: bool) -> dict[str, Any]:
        """The control API's card switch: later charges of this customer fail or succeed. Nothing is
        retried now; scheduled retries and renewals see the new card."""
        customer = self._customer(customer_id)
        customer.card_fails = fails
        return {"customer": customer.id, "card_fails": customer.card_fails}

    # ------------------------------------------------------------------ products and prices

    def create_product(self, params: Params) -> dict[str, Any]:
        name = require_str(params, "name")
        product_id = get_str(params, "id") or new_id("prod_", 14)
        if product_id in self.products:
            raise StripeApiError(
                400, f"Product already exists with id: '{product_id}'", param="id", code="resource_already_exists"
            )
        product = Product(
            id=product_id,
            created=self.now,
            updated=self.now,
            name=name,
            description=get_str(params, "description"),
            active=get_bool(params, "active") is not False,
            metadata=merge_metadata({}, params.get("metadata")),
        )
        self.products[product.id] = product
        self._emit("product.created", self.render_product(product))
        return self.render_product(product)

    def retrieve_product(self, product_id: str) -> dict[str, Any]:
        product = self.products.get(product_id)
        if product is None:
            raise no_such("product", product_id)
        return self.render_product(product)

    def update_product(self, product_id: str, params: Params) -> dict[str, Any]:
        product = self.products.get(product_id)
        if product is None:
            raise no_such("product", product_id)
        metadata = merge_metadata(product.metadata, params.get("metadata"))
        active = get_bool(params, "active")
        before = self.render_product(product)
        if "name" in params:
            product.name = require_str(params, "name")
        if "description" in params:
            product.description = get_str(params, "description")
        if active is not None:
            product.active = active
        product.metadata = metadata
        product.updated = self.now
        after = self.render_product(product)
        self._emit("product.updated", self.render_product(product), _changes(before, after))
        return after

    def list_products(self, params: Params) -> dict[str, Any]:
        active = get_bool(params, "active")
        ids = set(get_list(params, "ids"))
        found = [
            p
            for p in reversed(self.products.values())
            if (active is None or p.active == active) and (not ids or p.id in ids)
        ]
        return self.list_object("/v1/products", [self.render_product(p) for p in found], params)

    def create_price(self, params: Params) -> dict[str, Any]:
        product_id = get_str(params, "product")
        product_data = get_dict(params, "product_data")
        if product_id is None and not product_data:
            raise StripeApiError(400, "Missing required param: product.", param="product", code="parameter_missing")
        if product_id is not None and product_id not in self.products:
            raise no_such("product", product_id, "product", 400)
        currency = require_str(params, "currency").lower()
        unit_amount = get_int(params, "unit_amount")
        if unit_amount is None:
            decimal = get_str(params, "unit_amount_decimal")
            if decimal is None or not decimal.isdigit():
                raise StripeApiError(
                    400, "Missing required param: unit_amount.", param="unit_amount", code="parameter_missing"
                )
            unit_amount = int(decimal)
        if unit_amount < 0:
            raise StripeApiError(400, "Invalid integer: unit_amount must be positive", param="unit_amount")
        recurring = get_dict(params, "recurring")
        interval = get_str(recurring, "interval", label="recurring[interval]") if recurring else None
        if recurring and interval is None:
            raise StripeApiError(400, "Missing required param: recurring[interval].", param="recurring[interval]")
        if interval is not None and interval not in INTERVALS:
            raise StripeApiError(
                400, f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}", param="recurring[interval]"
            )
        interval_count = get_int(recurring, "interval_count", label="recurring[interval_count]") or 1
        lookup_key = get_str(params, "lookup_key")
        holder = self._price_by_lookup_key(lookup_key) if lookup_key else None
        if holder is not None and get_bool(params, "transfer_lookup_key") is not True:
            raise StripeApiError(
                400,
                f"A price (`{holder.id}`) already uses that lookup key.",
                param="lookup_key",
                code="lookup_key_already_exists",
            )
        metadata = merge_metadata({}, params.get("metadata"))
        if product_id is None:
            product_id = self.create_product(product_data)["id"]
        if holder is not None:
            before = self.render_price(holder)
            holder.lookup_key = None
            self._emit("price.updated", self.render_price(holder), _changes(before, self.render_price(holder)))
        price = Price(
            id=new_id("price_"),
            created=self.now,
            product=product_id,
            currency=currency,
            unit_amount=unit_amount,
            interval=interval,
            interval_count=interval_count,
            lookup_key=lookup_key,
            nickname=get_str(params, "nickname"),
            active=get_bool(params, "active") is not False,
            metadata=metadata,
        )
        self.prices[price.id] = price
        self._emit("price.created", self.render_price(price))
        return self.render_price(price)

    def _price_by_lookup_key(self, lookup_key: str) -> Price | None:
        return next((p for p in self.prices.values() if p.lookup_key == lookup_key), None)

    def retrieve_price(self, price_id: str) -> dict[str, Any]:
        return self.render_price(self._price(price_id))

    def update_price(self, price_id: str, params: Params) -> dict[str, Any]:
        price = self._price(price_id)
        metadata = merge_metadata(price.metadata, params.get("metadata"))
        active = get_bool(params, "active")
        lookup_key = get_str(params, "lookup_key")
        holder = self._price_by_lookup_key(lookup_key) if lookup_key else None
        if holder is not None and holder is not price and get_bool(params, "transfer_lookup_key") is not True:
            raise StripeApiError(400, f"A price (`{holder.id}`) already uses that lookup key.", param="lookup_key")
        if holder is not None and holder is not price:
            holder.lookup_key = None
        before = self.render_price(price)
        if active is not None:
            price.active = active
        if "lookup_key" in params:
            price.lookup_key = lookup_key
        if "nickname" in params:
            price.nickname = get_str(params, "nickname")
        price.metadata = metadata
        after = self.render_price(price)
        self._emit("price.updated", self.render_price(price), _changes(before, after))
        return after

    def list_prices(self, params: Params) -> dict[str, Any]:
        active = get_bool(params, "active")
        lookup_keys = {key for key in get_list(params, "lookup_keys") if isinstance(key, str)}
        product = get_str(params, "product")
        currency = get_str(params, "currency")
        price_type = get_str(params, "type")
        interval = get_str(get_dict(params, "recurring"), "interval")
        found = [
            p
            for p in reversed(self.prices.values())
            if (active is None or p.active == active)
            and (not lookup_keys or p.lookup_key in lookup_keys)
            and (product is None or p.product == product)
            and (currency is None or p.currency == currency.lower())
            and (price_type is None or (price_type == "recurring") == (p.interval is not None))
            and (interval is None or p.interval == interval)
        ]
        return self.list_object("/v1/prices", [self.render_price(p) for p in found], params)

    # ------------------------------------------------------------------ Checkout

    def create_checkout_session(self, params: Params) -> dict[str, Any]:
        mode = require_str(params, "mode")
        if mode != "subscription":
            raise StripeApiError(400, "The fake Stripe supports Checkout in mode=subscription only.", param="mode")
        success_url = require_str(params, "success_url")
        customer_id = get_str(params, "customer")
        if customer_id is not None:
            self._customer(customer_id, "customer")
        raw_lines = get_list(params, "line_items")
        if not raw_lines:
            raise StripeApiError(
                400, "line_items is required in subscription mode.", param="line_items", code="parameter_missing"
            )
        lines = []
        for index, raw in enumerate(raw_lines):
            if not isinstance(raw, dict):
                raise StripeApiError(400, f"Invalid object: line_items[{index}]", param=f"line_items[{index}]")
            price = self._price(
                require_str(raw, "price", label=f"line_items[{index}][price]"), f"line_items[{index}][price]"
            )
            self._check_recurring(price, f"line_items[{index}][price]")
            quantity = get_int(raw, "quantity", label=f"line_items[{index}][quantity]")
            lines.append(CheckoutLine(new_id("li_"), price.id, 1 if quantity is None else quantity))
        self._check_compatible([self.prices[line.price] for line in lines], "line_items")
        subscription_data = get_dict(params, "subscription_data")
        trial_days = get_int(subscription_data, "trial_period_days", label="subscription_data[trial_period_days]")
        if trial_days is not None and not 1 <= trial_days <= 730:
            raise StripeApiError(
                400, "The trial period must be between 1 and 730 days.", param="subscription_data[trial_period_days]"
            )
        tax_id_collection = get_dict(params, "tax_id_collection")
        expires_at = get_int(params, "expires_at")
        session = CheckoutSession(
            id=new_id("cs_test_", 58),
            created=self.now,
            expires_at=expires_at if expires_at is not None else self.now + CHECKOUT_EXPIRES_AFTER,
            mode=mode,
            customer=customer_id,
            customer_email=get_str(params, "customer_email"),
            client_reference_id=get_str(params, "client_reference_id"),
            success_url=success_url,
            cancel_url=get_str(params, "cancel_url"),
            lines=lines,
            trial_period_days=trial_days,
            subscription_metadata=merge_metadata({}, subscription_data.get("metadata"), "subscription_data[metadata]"),
            metadata=merge_metadata({}, params.get("metadata")),
            tax_id_collection=get_bool(tax_id_collection, "enabled", label="tax_id_collection[enabled]") is True,
        )
        self.checkout_sessions[session.id] = session
        return self.render_checkout_session(session)

    def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        return self.render_checkout_session(self.checkout_session(session_id))

    def list_checkout_line_items(self, session_id: str, params: Params) -> dict[str, Any]:
        lines = self._render_checkout_lines(self.checkout_session(session_id))
        return self.list_object(lines["url"], lines["data"], params)

    def list_checkout_sessions(self, params: Params) -> dict[str, Any]:
        customer = get_str(params, "customer")
        subscription = get_str(params, "subscription")
        status = get_str(params, "status")
        found = [
            s
            for s in reversed(self.checkout_sessions.values())
            if (customer is None or s.customer == customer)
            and (subscription is None or s.subscription == subscription)
            and (status is None or s.status == status)
        ]
        return self.list_object("/v1/checkout/sessions", [self.render_checkout_session(s) for s in found], params)

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        session = self.checkout_session(session_id)
        if session.status != "open":
            raise StripeApiError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session.status}".',
            )
        self._expire_checkout_session(session)
        return self.render_checkout_session(session)

    def _expire_checkout_session(self, session: CheckoutSession) -> None:
        session.status = "expired"
        self._emit("checkout.session.expired", self.render_checkout_session(session))

    def pay_checkout_session(self, session_id: str, *, card_fails: bool) -> str:
        """The customer pressed Subscribe on the hosted page: the subscription starts and the session
        completes. Returns where the browser goes next (success_url with the session id filled in).
        The card given here always pays at checkout; `card_fails` makes later charges decline."""
        session = self.checkout_session(session_id)
        if session.status == "expired":
            raise StripeApiError(400, "This Checkout Session has expired.")
        if session.status == "open":
            if session.customer is None:
                created = self.create_customer({"email": session.customer_email} if session.customer_email else {})
                session.customer = created["id"]
            customer = self.customers[session.customer]
            customer.card_fails = card_fails
            subscription = self._start_subscription(
                customer,
                [(self.prices[line.price], line.quantity) for line in session.lines],
                trial_end=self.now + session.trial_period_days * DAY if session.trial_period_days else None,
                metadata=session.subscription_metadata,
                payment_behavior="checkout",
                default_payment_method=new_id("pm_"),
            )
            session.status = "complete"
            session.payment_status = "no_payment_required" if self._checkout_amount(session) == 0 else "paid"
            session.subscription = subscription.id
            session.completed_at = self.now
            self._emit("checkout.session.completed", self.render_checkout_session(session))
        assert session.success_url is not None
        return session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)

    def _check_recurring(self, price: Price, param: str) -> None:
        if price.interval is None:
            raise StripeApiError(400, f"The price specified ({price.id}) is not a recurring price.", param=param)
        if not price.active:
            raise StripeApiError(400, f"The price specified ({price.id}) is inactive.", param=param)

    def _check_compatible(self, prices: list[Price], param: str, currency: str | None = None) -> None:
        currencies = {p.currency for p in prices} | ({currency} if currency else set())
        intervals = {(p.interval, p.interval_count) for p in prices}
        if len(currencies) > 1 or len(intervals) > 1:
            raise StripeApiError(
                400, "Currency and interval fields must match across all plans on this subscription.", param=param
            )

    # ------------------------------------------------------------------ subscriptions

    def _interval(self, sub: Subscription) -> tuple[str, int]:
        price = self.prices[sub.items[0].price]
        assert price.interval is not None
        return price.interval, price.interval_count

    def _period_lines(
        self, sub: Subscription, items: Iterable[SubscriptionItem], start: int, end: int
    ) -> list[LineItem]:
        lines = []
        for item in items:
            price = self.prices[item.price]
            assert price.interval is not None
            per = (
                f"{price.interval}" if price.interval_count == 1 else f"every {price.interval_count} {price.interval}s"
            )
            lines.append(
                LineItem(
                    id=new_id("il_"),
                    amount=price.unit_amount * item.quantity,
                    currency=price.currency,
                    description=f"{item.quantity} × {self.product_name(price)} "
                    f"(at {format_amount(price.unit_amount, price.currency)} / {per})",
                    period_start=start,
                    period_end=end,
                    price=price.id,
                    quantity=item.quantity,
                    proration=False,
                    subscription=sub.id,
                    subscription_item=item.id,
                )
            )
        return lines

    def _start_subscription(
        self,
        customer: Customer,
        lines: list[tuple[Price, int]],
        *,
        trial_end: int | None,
        metadata: dict[str, str],
        payment_behavior: str,
        default_payment_method: str | None,
        cancel_at_period_end: bool = False,
    ) -> Subscription:
        """A new subscription and its first invoice. `payment_behavior` is Stripe's, plus "checkout":
        the card just entered on the Checkout page, which pays whatever the customer's card state."""
        now = self.now
        interval, interval_count = lines[0][0].interval or "month", lines[0][0].interval_count
        first_amount = 0 if trial_end is not None else sum(price.unit_amount * quantity for price, quantity in lines)
        pays_now = payment_behavior == "checkout" or not customer.card_fails or first_amount + customer.balance <= 0
        if payment_behavior == "error_if_incomplete" and not pays_now:
            raise StripeApiError(
                402, "Your card was declined.", type="card_error", code="card_declined", decline_code="generic_decline"
            )
        anchor = trial_end if trial_end is not None else now
        sub = Subscription(
            id=new_id("sub_"),
            created=now,
            customer=customer.id,
            currency=lines[0][0].currency,
            items=[SubscriptionItem(new_id("si_", 14), now, price.id, quantity) for price, quantity in lines],
            status="trialing" if trial_end is not None else "incomplete",
            metadata=dict(metadata),
            start_date=now,
            billing_cycle_anchor=anchor,
            period_index=-1 if trial_end is not None else 0,
            current_period_start=now,
            current_period_end=anchor
            if trial_end is not None
            else period_boundary(anchor, interval, interval_count, 1),
            trial_start=now if trial_end is not None else None,
            trial_end=trial_end,
            default_payment_method=default_payment_method,
        )
        if cancel_at_period_end:
            sub.cancel_at_period_end = True
            sub.cancel_at = sub.current_period_end
            sub.canceled_at = now
            sub.cancellation_reason = "cancellation_requested"
        if trial_end is not None:
            price = lines[0][0]
            invoice_lines = [
                LineItem(
                    id=new_id("il_"),
                    amount=0,
                    currency=sub.currency,
                    description=f"Trial period for {self.product_name(price)}",
                    period_start=now,
                    period_end=trial_end,
                    price=price.id,
                    quantity=sub.items[0].quantity,
                    proration=False,
                    subscription=sub.id,
                    subscription_item=sub.items[0].id,
                )
            ]
        else:
            invoice_lines = self._period_lines(sub, sub.items, sub.current_period_start, sub.current_period_end)
        invoice = self._new_invoice(sub, "subscription_create", invoice_lines, now, now)
        sub.latest_invoice = invoice.id
        if trial_end is None and pays_now and payment_behavior != "default_incomplete":
            sub.status = "active"
        self.subscriptions[sub.id] = sub
        customer.currency = customer.currency or sub.currency
        self._emit("customer.subscription.created", self.render_subscription(sub))
        self._emit("invoice.created", self.render_invoice(invoice))
        self._finalize(invoice)
        if invoice.status == "open":
            if sub.status == "active":
                invoice.attempt_count += 1
                invoice.attempted = True
                self._mark_paid(invoice)
            elif payment_behavior != "default_incomplete":
                self._attempt(invoice)
        return sub

    def _new_invoice(
        self, sub: Subscription, reason: str, lines: list[LineItem], period_start: int, period_end: int
    ) -> Invoice:
        customer = self.customers[sub.customer]
        invoice = Invoice(
            id=new_id("in_"),
            created=self.now,
            customer=customer.id,
            subscription=sub.id,
            subscription_metadata=dict(sub.metadata),
            billing_reason=reason,
            currency=sub.currency,
            lines=[dataclasses.replace(line, id=new_id("il_")) for line in lines],
            period_start=period_start,
            period_end=period_end,
            customer_email=customer.email,
            customer_name=customer.name,
        )
        self.invoices[invoice.id] = invoice
        return invoice

    def _finalize(self, invoice: Invoice) -> None:
        """Draft → open: a number, the customer's balance applied (a credit lowers what is due and an
        overall credit is kept for later), invoice.finalized; nothing due means paid at once."""
        customer = self.customers[invoice.customer]
        invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
        customer.next_invoice_sequence += 1
        invoice.starting_balance = customer.balance
        due = invoice.total + customer.balance
        invoice.amount_due = max(due, 0)
        customer.balance = min(due, 0)
        invoice.ending_balance = customer.balance
        invoice.status = "open"
        invoice.finalized_at = self.now
        self._emit("invoice.finalized", self.render_invoice(invoice))
        if invoice.amount_due == 0:
            self._mark_paid(invoice)

    def _attempt(self, invoice: Invoice) -> bool:
        """Charge the customer's card for an open invoice; True when it paid."""
        if invoice.status != "open":
            return False
        invoice.attempt_count += 1
        invoice.attempted = True
        if self.customers[invoice.customer].card_fails:
            self._payment_failed(invoice)
            return False
        self._mark_paid(invoice)
        return True

    def _mark_paid(self, invoice: Invoice) -> None:
        invoice.status = "paid"
        invoice.amount_paid = invoice.amount_due
        invoice.paid_at = self.now
        invoice.next_payment_attempt = None
        self._emit("invoice.paid", self.render_invoice(invoice))
        self._emit("invoice.payment_succeeded", self.render_invoice(invoice))
        sub = self.subscriptions.get(invoice.subscription) if invoice.subscription else None
        if sub is None or sub.status not in ("past_due", "unpaid", "incomplete"):
            return
        still_open = any(
            other.subscription == sub.id and other.status == "open" and other.amount_due > 0
            for other in self.invoices.values()
        )
        if not still_open:
            before = self.render_subscription(sub)
            sub.status = "active"
            self._emit_subscription_update(sub, before)

    def _payment_failed(self, invoice: Invoice) -> None:
        sub = self.subscriptions.get(invoice.subscription) if invoice.subscription else None
        if invoice.first_failed_at is None:
            invoice.first_failed_at = self.now
        retries_done = invoice.attempt_count - 1
        if sub is not None and sub.status == "incomplete":
            # the first invoice of an incomplete subscription is not smart-retried: it waits 23 hours
            invoice.next_payment_attempt = None
        elif retries_done < len(RETRY_AFTER_FIRST_FAILURE):
            invoice.next_payment_attempt = invoice.first_failed_at + RETRY_AFTER_FIRST_FAILURE[retries_done]
        else:
            invoice.next_payment_attempt = None
        self._emit("invoice.payment_failed", self.render_invoice(invoice))
        if sub is None:
            return
        if sub.status in ("active", "trialing"):
            before = self.render_subscription(sub)
            sub.status = "past_due"
            self._emit_subscription_update(sub, before)
        if sub.status == "past_due" and invoice.next_payment_attempt is None:
            before = self.render_subscription(sub)
            sub.status = "unpaid"
            self._emit_subscription_update(sub, before)

    def _trial_will_end(self, sub: Subscription) -> None:
        sub.trial_will_end_sent = True
        self._emit("customer.subscription.trial_will_end", self.render_subscription(sub))

    def _renew(self, sub: Subscription) -> None:
        """A period ended: the next one starts and is invoiced (in advance) and charged. An unpaid
        subscription keeps running periods and invoices, but Stripe no longer charges them."""
        before = self.render_subscription(sub)
        previous_start, start = sub.current_period_start, sub.current_period_end
        interval, interval_count = self._interval(sub)
        sub.period_index += 1
        sub.current_period_start = start
        sub.current_period_end = period_boundary(
            sub.billing_cycle_anchor, interval, interval_count, sub.period_index + 1
        )
        if sub.status == "trialing":
            sub.status = "active"
        lines = sub.pending_lines + self._period_lines(sub, sub.items, start, sub.current_period_end)
        sub.pending_lines = []
        invoice = self._new_invoice(sub, "subscription_cycle", lines, previous_start, start)
        sub.latest_invoice = invoice.id
        self._emit_subscription_update(sub, before)
        self._emit("invoice.created", self.render_invoice(invoice))
        self._finalize(invoice)
        if sub.status != "unpaid":
            self._attempt(invoice)

    def _end_subscription(self, sub: Subscription, reason: str | None) -> None:
        sub.status = "canceled"
        sub.ended_at = self.now
        sub.canceled_at = sub.canceled_at or self.now
        sub.cancellation_reason = reason or sub.cancellation_reason or "cancellation_requested"
        sub.pending_lines = []
        for invoice in self.invoices.values():
            if invoice.subscription == sub.id and invoice.status == "open":
                # Stripe stops collecting a canceled subscription's invoices; they stay open
                invoice.next_payment_attempt = None
                invoice.auto_advance = False
        self._emit("customer.subscription.deleted", self.render_subscription(sub))

    def _expire_incomplete(self, sub: Subscription) -> None:
        before = self.render_subscription(sub)
        sub.status = "incomplete_expired"
        sub.ended_at = self.now
        for invoice in self.invoices.values():
            if invoice.subscription == sub.id and invoice.status == "open":
                invoice.status = "void"
                invoice.voided_at = self.now
                invoice.next_payment_attempt = None
                self._emit("invoice.voided", self.render_invoice(invoice))
        self._emit_subscription_update(sub, before)

    def create_subscription(self, params: Params) -> dict[str, Any]:
        customer = self._customer(require_str(params, "customer"), "customer")
        raw_items = get_list(params, "items")
        if not raw_items:
            raise StripeApiError(400, "Missing required param: items.", param="items", code="parameter_missing")
        lines: list[tuple[Price, int]] = []
        for index, raw in enumerate(raw_items):
            if not isinstance(raw, dict):
                raise StripeApiError(400, f"Invalid object: items[{index}]", param=f"items[{index}]")
            price = self._price(require_str(raw, "price", label=f"items[{index}][price]"), f"items[{index}][price]")
            self._check_recurring(price, f"items[{index}][price]")
            quantity = get_int(raw, "quantity", label=f"items[{index}][quantity]")
            lines.append((price, 1 if quantity is None else quantity))
        self._check_compatible([price for price, _ in lines], "items")
        payment_behavior = get_str(params, "payment_behavior") or "allow_incomplete"
        if payment_behavior not in PAYMENT_BEHAVIORS:
            raise StripeApiError(400, f"Invalid payment_behavior: {payment_behavior}", param="payment_behavior")
        collection = get_str(params, "collection_method")
        if collection not in (None, "charge_automatically"):
            raise StripeApiError(
                400, "The fake Stripe supports collection_method=charge_automatically only.", param="collection_method"
            )
        trial_end: int | None = None
        trial_days = get_int(params, "trial_period_days")
        if trial_days is not None and trial_days > 0:
            trial_end = self.now + trial_days * DAY
        raw_trial_end = params.get("trial_end")
        if raw_trial_end not in (None, "", "now"):
            trial_end = get_int(params, "trial_end")
            if trial_end is not None and trial_end <= self.now:
                raise StripeApiError(400, "Invalid timestamp: must be in the future", param="trial_end")
        elif raw_trial_end == "now":
            trial_end = None
        metadata = merge_metadata({}, params.get("metadata"))
        sub = self._start_subscription(
            customer,
            lines,
            trial_end=trial_end,
            metadata=metadata,
            payment_behavior=payment_behavior,
            default_payment_method=get_str(params, "default_payment_method"),
            cancel_at_period_end=get_bool(params, "cancel_at_period_end") is True,
        )
        return self.render_subscription(sub)

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self.render_subscription(self._subscription(subscription_id))

    def list_subscriptions(self, params: Params) -> dict[str, Any]:
        customer = get_str(params, "customer")
        price = get_str(params, "price")
        status = get_str(params, "status")
        if status is not None and status not in (*SUBSCRIPTION_STATUSES, "all", "ended"):
            raise StripeApiError(400, f"Invalid status: {status}", param="status")

        def matches(sub: Subscription) -> bool:
            if status is None:
                return sub.status != "canceled"
            if status == "ended":
                return sub.status in ENDED_STATUSES
            return status == "all" or sub.status == status

        found = [
            s
            for s in reversed(self.subscriptions.values())
            if (customer is None or s.customer == customer)
            and (price is None or any(item.price == price for item in s.items))
            and matches(s)
        ]
        return self.list_object("/v1/subscriptions", [self.render_subscription(s) for s in found], params)

    def _plan_change(
        self, sub: Subscription, specs: list[Any], behavior: str, proration_date: int | None
    ) -> _PlanChange:
        """The items after `items[…]` is applied, and the prorations it earns; changes nothing."""
        at = self.now if proration_date is None else proration_date
        if not sub.current_period_start <= at <= sub.current_period_end:
            raise StripeApiError(400, "proration_date must be within the current period.", param="proration_date")
        items = [dataclasses.replace(item, metadata=dict(item.metadata)) for item in sub.items]
        originals = {item.id: item for item in sub.items}
        changed: list[tuple[SubscriptionItem | None, SubscriptionItem | None]] = []
        for index, spec in enumerate(specs):
            label = f"items[{index}]"
            if not isinstance(spec, dict):
                raise StripeApiError(400, f"Invalid object: {label}", param=label)
            item_id = get_str(spec, "id", label=f"{label}[id]")
            price_id = get_str(spec, "price", label=f"{label}[price]")
            quantity = get_int(spec, "quantity", label=f"{label}[quantity]")
            new_price = self._price(price_id, f"{label}[price]") if price_id else None
            if new_price is not None:
                self._check_recurring(new_price, f"{label}[price]")
            if item_id is not None:
                item = next((candidate for candidate in items if candidate.id == item_id), None)
                if item is None:
                    raise no_such("subscription item", item_id, f"{label}[id]", 400)
                if get_bool(spec, "deleted", label=f"{label}[deleted]"):
                    items.remove(item)
                    changed.append((originals[item.id], None))
                    continue
                if new_price is not None:
                    item.price = new_price.id
                if quantity is not None:
                    item.quantity = quantity
                item.metadata = merge_metadata(item.metadata, spec.get("metadata"), f"{label}[metadata]")
                if (item.price, item.quantity) != (originals[item.id].price, originals[item.id].quantity):
                    changed.append((originals[item.id], item))
            else:
                if new_price is None:
                    raise StripeApiError(400, f"Missing required param: {label}[price].", param=f"{label}[price]")
                item = SubscriptionItem(new_id("si_", 14), self.now, new_price.id, 1 if quantity is None else quantity)
                items.append(item)
                changed.append((None, item))
        if not items:
            raise StripeApiError(400, "A subscription must have at least one active item.", param="items")
        self._check_compatible([self.prices[item.price] for item in items], "items", sub.currency)
        new_price0 = self.prices[items[0].price]
        interval_changed = (new_price0.interval, new_price0.interval_count) != self._interval(sub)
        prorations: list[LineItem] = []
        if behavior != "none" and sub.status != "trialing":
            if interval_changed:
                changed = [(item, None) for item in sub.items]
            for old, new in changed:
                prorations += self._proration_lines(sub, old, new, at)
        return _PlanChange(items, prorations, interval_changed, at)

    def _proration_lines(
        self, sub: Subscription, old: SubscriptionItem | None, new: SubscriptionItem | None, at: int
    ) -> list[LineItem]:
        start, end = sub.current_period_start, sub.current_period_end
        if at >= end or end <= start:
            return []
        remaining, length = end - at, end - start
        lines = []
        for item, sign, wording in ((old, -1, "Unused time on"), (new, 1, "Remaining time on")):
            if item is None:
                continue
            price = self.prices[item.price]
            amount = (price.unit_amount * item.quantity * remaining + length // 2) // length
            lines.append(
                LineItem(
                    id=new_id("il_"),
                    amount=sign * amount,
                    currency=price.currency,
                    description=f"{wording} {item.quantity} × {self.product_name(price)} after {format_date(at)}",
                    period_start=at,
                    period_end=end,
                    price=price.id,
                    quantity=item.quantity,
                    proration=True,
                    subscription=sub.id,
                    subscription_item=item.id,
                    invoice_item=new_id("ii_"),
                )
            )
        return lines

    def update_subscription(self, subscription_id: str, params: Params) -> dict[str, Any]:
        sub = self._subscription(subscription_id)
        allowed_when_done = {"metadata", "cancellation_details", "expand"}
        if sub.status in ENDED_STATUSES and set(params) - allowed_when_done:
            raise StripeApiError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        if sub.status == "incomplete" and set(params) - allowed_when_done - {"default_payment_method"}:
            raise StripeApiError(
                400, "A subscription in the incomplete status can only have metadata and default_source updated."
            )
        metadata = merge_metadata(sub.metadata, params.get("metadata"))
        behavior = get_str(params, "proration_behavior") or "create_prorations"
        if behavior not in PRORATION_BEHAVIORS:
            raise StripeApiError(400, f"Invalid proration_behavior: {behavior}", param="proration_behavior")
        get_str(params, "payment_behavior")
        specs = get_list(params, "items")
        change = self._plan_change(sub, specs, behavior, get_int(params, "proration_date")) if specs else None
        cancel_at_period_end = get_bool(params, "cancel_at_period_end")
        cancel_at: int | None = None
        clear_cancel_at = params.get("cancel_at") == ""
        if not clear_cancel_at:
            cancel_at = get_int(params, "cancel_at")
            if cancel_at is not None and cancel_at <= self.now:
                raise StripeApiError(400, "cancel_at must be in the future.", param="cancel_at")

        before = self.render_subscription(sub)
        sub.metadata = metadata
        if "default_payment_method" in params:
            sub.default_payment_method = get_str(params, "default_payment_method")
        invoice_now: Invoice | None = None
        if change is not None:
            sub.items = change.items
            if sub.status != "trialing" and change.interval_changed:
                # a new interval restarts the billing cycle now and bills the new period at once
                interval, count = (
                    self.prices[sub.items[0].price].interval or "month",
                    self.prices[sub.items[0].price].interval_count,
                )
                sub.billing_cycle_anchor = self.now
                sub.period_index = 0
                sub.current_period_start = self.now
                sub.current_period_end = period_boundary(self.now, interval, count, 1)
                if sub.cancel_at_period_end:
                    sub.cancel_at = sub.current_period_end
                lines = sub.pending_lines + change.prorations
                lines += self._period_lines(sub, sub.items, sub.current_period_start, sub.current_period_end)
                sub.pending_lines = []
                invoice_now = self._new_invoice(sub, "subscription_update", lines, self.now, self.now)
            elif behavior == "always_invoice" and (change.prorations or sub.pending_lines):
                invoice_now = self._new_invoice(
                    sub, "subscription_update", sub.pending_lines + change.prorations, self.now, self.now
                )
                sub.pending_lines = []
            else:
                sub.pending_lines += change.prorations
        if cancel_at_period_end is not None:
            sub.cancel_at_period_end = cancel_at_period_end
            sub.cancel_at = sub.current_period_end if cancel_at_period_end else None
            sub.canceled_at = self.now if cancel_at_period_end else None
            sub.cancellation_reason = "cancellation_requested" if cancel_at_period_end else None
        if clear_cancel_at:
            sub.cancel_at = None
            sub.cancel_at_period_end = False
            sub.canceled_at = None
            sub.cancellation_reason = None
        elif cancel_at is not None:
            sub.cancel_at = cancel_at
            sub.cancel_at_period_end = cancel_at == sub.current_period_end
            sub.canceled_at = self.now
            sub.cancellation_reason = "cancellation_requested"
        if invoice_now is not None:
            sub.latest_invoice = invoice_now.id
        self._emit_subscription_update(sub, before)
        if invoice_now is not None:
            self._emit("invoice.created", self.render_invoice(invoice_now))
            self._finalize(invoice_now)
            self._attempt(invoice_now)
        return self.render_subscription(sub)

    def cancel_subscription(self, subscription_id: str, params: Params) -> dict[str, Any]:
        sub = self._subscription(subscription_id)
        if sub.status in ENDED_STATUSES:
            raise StripeApiError(400, f"This subscription has already been canceled (status {sub.status}).")
        details = get_dict(params, "cancellation_details")
        get_bool(params, "invoice_now")
        get_bool(params, "prorate")
        get_str(details, "comment", label="cancellation_details[comment]")
        sub.canceled_at = self.now
        self._end_subscription(sub, "cancellation_requested")
        return self.render_subscription(sub)

    # ------------------------------------------------------------------ invoices

    def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return self.render_invoice(self._invoice(invoice_id))

    def list_invoices(self, params: Params) -> dict[str, Any]:
        customer = get_str(params, "customer")
        subscription = get_str(params, "subscription")
        status = get_str(params, "status")
        found = [
            i
            for i in reversed(self.invoices.values())
            if (customer is None or i.customer == customer)
            and (subscription is None or i.subscription == subscription)
            and (status is None or i.status == status)
        ]
        return self.list_object("/v1/invoices", [self.render_invoice(i) for i in found], params)

    def list_invoice_lines(self, invoice_id: str, params: Params) -> dict[str, Any]:
        lines = self.render_invoice(self._invoice(invoice_id))["lines"]
        return self.list_object(lines["url"], lines["data"], params)

    def pay_invoice(self, invoice_id: str, params: Params) -> dict[str, Any]:
        """POST /v1/invoices/{id}/pay: charge now; a declined card is a 402 (the failure is recorded)."""
        invoice = self._invoice(invoice_id)
        if invoice.status == "paid":
            raise StripeApiError(400, "Invoice is already paid", code="invoice_already_paid")
        if invoice.status != "open":
            raise StripeApiError(400, f"You cannot pay an invoice with status {invoice.status}.")
        if not self._attempt(invoice):
            raise StripeApiError(
                402, "Your card was declined.", type="card_error", code="card_declined", decline_code="generic_decline"
            )
        return self.render_invoice(invoice)

    def create_preview(self, params: Params) -> dict[str, Any]:
        """The next invoice a subscription will produce, pending prorations included; with
        `subscription_details[items]` the invoice a plan change would produce (changes nothing)."""
        customer_id = get_str(params, "customer")
        subscription_id = get_str(params, "subscription")
        if subscription_id is not None:
            sub = self._subscription(subscription_id, "subscription")
            if customer_id is not None and sub.customer != customer_id:
                raise StripeApiError(
                    400, f"The subscription {sub.id} does not belong to customer {customer_id}.", param="subscription"
                )
        elif customer_id is not None:
            self._customer(customer_id, "customer")
            candidates = [
                s
                for s in reversed(self.subscriptions.values())
                if s.customer == customer_id and s.status in BILLING_STATUSES
            ]
            if not candidates:
                raise self._no_upcoming(customer_id)
            sub = candidates[0]
        else:
            raise StripeApiError(400, "Missing required param: customer.", param="customer", code="parameter_missing")
        customer = self.customers[sub.customer]
        details = get_dict(params, "subscription_details")
        behavior = (
            get_str(details, "proration_behavior", label="subscription_details[proration_behavior]")
            or "create_prorations"
        )
        if behavior not in PRORATION_BEHAVIORS:
            raise StripeApiError(
                400, f"Invalid proration_behavior: {behavior}", param="subscription_details[proration_behavior]"
            )
        specs = get_list(details, "items", label="subscription_details[items]")
        proration_date = get_int(details, "proration_date", label="subscription_details[proration_date]")
        cancel_at_period_end = get_bool(
            details, "cancel_at_period_end", label="subscription_details[cancel_at_period_end]"
        )
        will_cancel = sub.cancel_at is not None and sub.cancel_at <= sub.current_period_end
        if cancel_at_period_end is not None:
            will_cancel = cancel_at_period_end
        if sub.status not in BILLING_STATUSES:
            raise self._no_upcoming(customer.id)
        change = self._plan_change(sub, specs, behavior, proration_date) if specs else None
        items = change.items if change else sub.items
        prorations = change.prorations if change else []
        now = self.now
        if change is not None and sub.status != "trialing" and change.interval_changed:
            price = self.prices[items[0].price]
            end = period_boundary(now, price.interval or "month", price.interval_count, 1)
            lines = sub.pending_lines + prorations + self._period_lines(sub, items, now, end)
            created, period_start, period_end, reason = now, now, now, "subscription_update"
        elif change is not None and behavior == "always_invoice" and sub.status != "trialing":
            lines = sub.pending_lines + prorations
            created, period_start, period_end, reason = now, now, now, "subscription_update"
        else:
            if will_cancel:
                raise self._no_upcoming(customer.id)
            # the items' interval, not the subscription's: a plan change during a trial may change it
            price = self.prices[items[0].price]
            next_end = period_boundary(
                sub.billing_cycle_anchor, price.interval or "month", price.interval_count, sub.period_index + 2
            )
            lines = sub.pending_lines + prorations + self._period_lines(sub, items, sub.current_period_end, next_end)
            created, period_start, period_end = sub.current_period_end, sub.current_period_start, sub.current_period_end
            reason = "subscription_cycle"
        preview = Invoice(
            id=new_id("upcoming_in_"),
            created=created,
            customer=customer.id,
            subscription=sub.id,
            subscription_metadata=dict(sub.metadata),
            billing_reason=reason,
            currency=sub.currency,
            lines=lines,
            period_start=period_start,
            period_end=period_end,
            customer_email=customer.email,
            customer_name=customer.name,
            starting_balance=customer.balance,
        )
        due = preview.total + customer.balance
        preview.amount_due = max(due, 0)
        preview.ending_balance = min(due, 0)
        preview.next_payment_attempt = created if preview.amount_due > 0 else None
        return self.render_invoice(
            preview, preview=True, proration_date=change.proration_date if prorations and change else None
        )

    def _no_upcoming(self, customer_id: str) -> StripeApiError:
        return StripeApiError(
            404, f"No upcoming invoices for customer: {customer_id}", param="customer", code="invoice_upcoming_none"
        )

    # ------------------------------------------------------------------ billing portal

    def create_portal_session(self, params: Params) -> dict[str, Any]:
        customer = self._customer(require_str(params, "customer"), "customer")
        session = PortalSession(
            id=new_id("bps_"),
            created=self.now,
            customer=customer.id,
            return_url=get_str(params, "return_url"),
            configuration=get_str(params, "configuration") or self.portal_configuration,
        )
        self.portal_sessions[session.id] = session
        return self.render_portal_session(session)

    def fix_card(self, portal_session_id: str) -> str | None:
        """The customer gave a working card in the portal: it becomes the default and every open
        invoice of a live subscription is charged again at once. Returns the portal's return_url."""
        session = self.portal_session(portal_session_id)
        customer = self.customers[session.customer]
        before = self.render_customer(customer)
        customer.card_fails = False
        customer.default_payment_method = new_id("pm_")
        after = self.render_customer(customer)
        self._emit("customer.updated", after, _changes(before, after))
        for invoice in list(self.invoices.values()):
            if invoice.customer != customer.id or invoice.status != "open":
                continue
            sub = self.subscriptions.get(invoice.subscription) if invoice.subscription else None
            if sub is not None and sub.status in ENDED_STATUSES:
                continue
            self._attempt(invoice)
        return session.return_url

    # ------------------------------------------------------------------ events

    def retrieve_event(self, event_id: str) -> dict[str, Any]:
        event = self.events_by_id.get(event_id)
        if event is None:
            raise no_such("event", event_id)
        return event

    def list_events(self, params: Params) -> dict[str, Any]:
        wanted = [t for t in [get_str(params, "type"), *get_list(params, "types")] if isinstance(t, str) and t]

        def matches(event_type: str) -> bool:
            return not wanted or any(
                event_type == pattern or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
                for pattern in wanted
            )

        found = [event for event in reversed(self.events) if matches(event["type"])]
        return self.list_object("/v1/events", found, params)
