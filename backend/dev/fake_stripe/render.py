"""How the fake Stripe's records look on the wire: each object rendered as the current API
version (2026-10-28.endive) renders it, plus `expand[]` and list pagination.

A subscription's billing periods live on its items (`items.data[i].current_period_start/end`), an
invoice names its subscription under `parent.subscription_details`, and lists are
{"object": "list", "data", "has_more", "url"}, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.dev.fake_stripe.model import (
    CheckoutSession,
    Customer,
    Invoice,
    LineItem,
    PortalSession,
    Price,
    Product,
    Subscription,
)
from backend.dev.fake_stripe.params import Params, StripeApiError, get_int, get_str, no_such


class Renderer:
    """Rendering for FakeStripe, which holds these collections."""

    public_base: str
    customers: dict[str, Customer]
    products: dict[str, Product]
    prices: dict[str, Price]
    checkout_sessions: dict[str, CheckoutSession]
    subscriptions: dict[str, Subscription]
    invoices: dict[str, Invoice]

    def product_name(self, price: Price) -> str:
        product = self.products.get(price.product)
        return product.name if product else price.product

    def render(self, object_id: str) -> dict[str, Any] | None:
        """Any stored object by id (what `expand` swaps an id for), or None."""
        if object_id in self.customers:
            return self.render_customer(self.customers[object_id])
        if object_id in self.products:
            return self.render_product(self.products[object_id])
        if object_id in self.prices:
            return self.render_price(self.prices[object_id])
        if object_id in self.subscriptions:
            return self.render_subscription(self.subscriptions[object_id])
        if object_id in self.invoices:
            return self.render_invoice(self.invoices[object_id])
        if object_id in self.checkout_sessions:
            return self.render_checkout_session(self.checkout_sessions[object_id])
        return None

    def expand(self, obj: dict[str, Any], paths: Iterable[Any]) -> dict[str, Any]:
        """Replace ids by objects along each dotted path (`customer`, `data.subscription`,
        `items.data.price.product`), as Stripe's `expand[]` does."""
        for path in paths:
            if isinstance(path, str) and path:
                self._expand_path(obj, path.split("."))
        return obj

    def _expand_path(self, node: Any, parts: list[str]) -> Any:
        if not parts or not isinstance(node, dict):
            return node
        if node.get("object") == "list" and parts[0] == "data":
            node["data"] = [self._expand_path(entry, parts[1:]) for entry in node["data"]]
            return node
        head, rest = parts[0], parts[1:]
        if head == "line_items" and node.get("object") == "checkout.session" and node.get("line_items") is None:
            node["line_items"] = self._render_checkout_lines(self.checkout_sessions[node["id"]])
        value = node.get(head)
        if isinstance(value, str):
            value = self.render(value) or value
        node[head] = self._expand_path(value, rest)
        return node

    def list_object(self, url: str, objects: list[dict[str, Any]], params: Params) -> dict[str, Any]:
        """A page of a list, newest first as given, with Stripe's limit/starting_after/ending_before."""
        limit = get_int(params, "limit")
        limit = 10 if limit is None else limit
        if not 1 <= limit <= 100:
            raise StripeApiError(400, "Invalid limit: must be between 1 and 100", param="limit")
        ids = [obj["id"] for obj in objects]
        starting_after = get_str(params, "starting_after")
        ending_before = get_str(params, "ending_before")
        if starting_after is not None:
            if starting_after not in ids:
                raise no_such("object", starting_after, "starting_after", 400)
            rest = objects[ids.index(starting_after) + 1 :]
            page, has_more = rest[:limit], len(rest) > limit
        elif ending_before is not None:
            if ending_before not in ids:
                raise no_such("object", ending_before, "ending_before", 400)
            before = objects[: ids.index(ending_before)]
            page, has_more = before[-limit:], len(before) > limit
        else:
            page, has_more = objects[:limit], len(objects) > limit
        return {"object": "list", "data": page, "has_more": has_more, "url": url}

    def render_customer(self, customer: Customer) -> dict[str, Any]:
        delinquent = any(
            invoice.customer == customer.id and invoice.status == "open" and invoice.first_failed_at is not None
            for invoice in self.invoices.values()
        )
        return {
            "id": customer.id,
            "object": "customer",
            "address": None,
            "balance": customer.balance,
            "business_name": None,
            "created": customer.created,
            "currency": customer.currency,
            "customer_account": None,
            "default_source": None,
            "delinquent": delinquent,
            "description": customer.description,
            "discount": None,
            "email": customer.email,
            "individual_name": None,
            "invoice_prefix": customer.invoice_prefix,
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": customer.default_payment_method,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(customer.metadata),
            "name": customer.name,
            "next_invoice_sequence": customer.next_invoice_sequence,
            "phone": customer.phone,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }

    def render_product(self, product: Product) -> dict[str, Any]:
        return {
            "id": product.id,
            "object": "product",
            "active": product.active,
            "created": product.created,
            "default_price": None,
            "description": product.description,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": dict(product.metadata),
            "name": product.name,
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": product.updated,
            "url": None,
        }

    def render_price(self, price: Price) -> dict[str, Any]:
        recurring = (
            {
                "interval": price.interval,
                "interval_count": price.interval_count,
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
            if price.interval
            else None
        )
        return {
            "id": price.id,
            "object": "price",
            "active": price.active,
            "billing_scheme": "per_unit",
            "created": price.created,
            "currency": price.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": price.lookup_key,
            "metadata": dict(price.metadata),
            "nickname": price.nickname,
            "product": price.product,
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if price.interval else "one_time",
            "unit_amount": price.unit_amount,
            "unit_amount_decimal": str(price.unit_amount),
        }

    def _render_plan(self, price: Price) -> dict[str, Any]:
        # the legacy `plan` mirror of a recurring price, still present on subscription items
        return {
            "id": price.id,
            "object": "plan",
            "active": price.active,
            "amount": price.unit_amount,
            "amount_decimal": str(price.unit_amount),
            "billing_scheme": "per_unit",
            "created": price.created,
            "currency": price.currency,
            "interval": price.interval,
            "interval_count": price.interval_count,
            "livemode": False,
            "metadata": dict(price.metadata),
            "meter": None,
            "nickname": price.nickname,
            "product": price.product,
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }

    def render_subscription(self, sub: Subscription) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {
                "id": item.id,
                "object": "subscription_item",
                "billing_thresholds": None,
                "created": item.created,
                "current_period_end": sub.current_period_end,
                "current_period_start": sub.current_period_start,
                "discounts": [],
                "metadata": dict(item.metadata),
                "plan": self._render_plan(self.prices[item.price]),
                "price": self.render_price(self.prices[item.price]),
                "quantity": item.quantity,
                "subscription": sub.id,
                "tax_rates": [],
            }
            for item in sub.items
        ]
        return {
            "id": sub.id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": sub.billing_cycle_anchor,
            "billing_cycle_anchor_config": None,
            "billing_mode": {"type": "classic"},
            "billing_thresholds": None,
            "cancel_at": sub.cancel_at,
            "cancel_at_period_end": sub.cancel_at_period_end,
            "canceled_at": sub.canceled_at,
            "cancellation_details": {"comment": None, "feedback": None, "reason": sub.cancellation_reason},
            "collection_method": "charge_automatically",
            "created": sub.created,
            "currency": sub.currency,
            "customer": sub.customer,
            "customer_account": None,
            "days_until_due": None,
            "default_payment_method": sub.default_payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "ended_at": sub.ended_at,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "total_count": len(items),
                "url": f"/v1/subscription_items?subscription={sub.id}",
            },
            "latest_invoice": sub.latest_invoice,
            "livemode": False,
            "metadata": dict(sub.metadata),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": sub.start_date,
            "status": sub.status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": sub.trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": sub.trial_start,
        }

    def _render_line(self, line: LineItem, invoice_id: str | None) -> dict[str, Any]:
        price = self.prices[line.price]
        return {
            "id": line.id,
            "object": "line_item",
            "amount": line.amount,
            "currency": line.currency,
            "description": line.description,
            "discount_amounts": [],
            "discountable": not line.proration,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "parent": {
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": line.invoice_item,
                    "proration": line.proration,
                    "proration_details": {"credited_items": None},
                    "subscription": line.subscription,
                    "subscription_item": line.subscription_item,
                },
                "type": "subscription_item_details",
            },
            "period": {"end": line.period_end, "start": line.period_start},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {"price": price.id, "product": price.product},
                "type": "price_details",
                "unit_amount_decimal": str(price.unit_amount),
            },
            "quantity": line.quantity,
            "subtotal": line.amount,
            "taxes": [],
        }

    def render_invoice(
        self, invoice: Invoice, *, preview: bool = False, proration_date: int | None = None
    ) -> dict[str, Any]:
        finalized = invoice.status != "draft" and not preview
        total = invoice.total
        remaining = invoice.amount_due - invoice.amount_paid if invoice.status in ("open", "uncollectible") else 0
        lines = [self._render_line(line, None if preview else invoice.id) for line in invoice.lines]
        return {
            "id": invoice.id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Merkato (fake Stripe)",
            "account_tax_ids": None,
            "amount_due": invoice.amount_due,
            "amount_overpaid": 0,
            "amount_paid": invoice.amount_paid,
            "amount_remaining": remaining if not preview else invoice.amount_due,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": invoice.attempt_count,
            "attempted": invoice.attempted,
            "auto_advance": invoice.auto_advance,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": invoice.billing_reason,
            "collection_method": "charge_automatically",
            "confirmation_secret": None,
            "created": invoice.created,
            "currency": invoice.currency,
            "custom_fields": None,
            "customer": invoice.customer,
            "customer_account": None,
            "customer_address": None,
            "customer_email": invoice.customer_email,
            "customer_name": invoice.customer_name,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": invoice.finalized_at,
            "ending_balance": invoice.ending_balance,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"{self.public_base}/invoices/{invoice.id}" if finalized else None,
            "invoice_pdf": f"{self.public_base}/invoices/{invoice.id}/pdf" if finalized else None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": lines,
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{invoice.id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": invoice.next_payment_attempt,
            "number": invoice.number,
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(invoice.subscription_metadata),
                    "subscription": invoice.subscription,
                    "subscription_proration_date": proration_date,
                }
                if invoice.subscription
                else None,
                "type": "subscription_details" if invoice.subscription else None,
            },
            "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
            "period_end": invoice.period_end,
            "period_start": invoice.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": invoice.starting_balance,
            "statement_descriptor": None,
            "status": invoice.status,
            "status_transitions": {
                "finalized_at": invoice.finalized_at,
                "marked_uncollectible_at": None,
                "paid_at": invoice.paid_at,
                "voided_at": invoice.voided_at,
            },
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "test_clock": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None if preview else invoice.created,
        }

    def _checkout_amount(self, session: CheckoutSession) -> int:
        if session.trial_period_days:
            return 0
        return sum(self.prices[line.price].unit_amount * line.quantity for line in session.lines)

    def _render_checkout_lines(self, session: CheckoutSession) -> dict[str, Any]:
        data = []
        for line in session.lines:
            price = self.prices[line.price]
            amount = price.unit_amount * line.quantity
            data.append(
                {
                    "id": line.id,
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": price.currency,
                    "description": self.product_name(price),
                    "metadata": {},
                    "price": self.render_price(price),
                    "quantity": line.quantity,
                }
            )
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session.id}/line_items",
        }

    def render_checkout_session(self, session: CheckoutSession) -> dict[str, Any]:
        amount = self._checkout_amount(session)
        currency = self.prices[session.lines[0].price].currency if session.lines else None
        customer = self.customers.get(session.customer) if session.customer else None
        details: dict[str, Any] | None = (
            {
                "address": None,
                "business_name": None,
                "email": customer.email if customer else session.customer_email,
                "individual_name": None,
                "name": customer.name if customer else None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            if session.status == "complete"
            else None
        )
        first_invoice = self.subscriptions[session.subscription].latest_invoice if session.subscription else None
        return {
            "id": session.id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": amount,
            "amount_total": amount,
            "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": session.cancel_url,
            "client_reference_id": session.client_reference_id,
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": session.created,
            "currency": currency,
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": session.customer,
            "customer_account": None,
            "customer_creation": None if session.customer else "always",
            "customer_details": details,
            "customer_email": session.customer_email,
            "discounts": [],
            "expires_at": session.expires_at,
            "invoice": first_invoice,
            "invoice_creation": None,
            "line_items": None,
            "livemode": False,
            "locale": None,
            "metadata": dict(session.metadata),
            "mode": session.mode,
            "origin_context": None,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": session.payment_status,
            "permissions": None,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": session.status,
            "submit_type": None,
            "subscription": session.subscription,
            "success_url": session.success_url,
            "tax_id_collection": {"enabled": session.tax_id_collection, "required": "never"},
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.public_base}/checkout/{session.id}" if session.status == "open" else None,
            "wallet_options": None,
        }

    def render_portal_session(self, session: PortalSession) -> dict[str, Any]:
        return {
            "id": session.id,
            "object": "billing_portal.session",
            "configuration": session.configuration,
            "created": session.created,
            "customer": session.customer,
            "customer_account": None,
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": session.return_url,
            "url": f"{self.public_base}/portal/{session.id}",
        }
