"""The fake Stripe server, driven the way the app drives it: the real `stripe` SDK (async methods,
HTTPX client) against the server in a background thread, webhooks caught by a plain http.server
endpoint and verified with `stripe.Webhook.construct_event`, and the clock moved through the
/_fake/ control API."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any

import httpx
import pytest
import stripe
from pypdf import PdfReader

from backend.dev.fake_stripe import FakeStripe, RunningFakeStripe, start_in_thread
from backend.dev.fake_stripe.model import DAY, HOUR, add_months

SECRET = "whsec_test_fake_stripe"
API_KEY = "sk_test_fake_stripe"


class Receiver:
    """A webhook endpoint on its own thread: records every POST, answers `status`, and may call
    `on_event` (in its thread, before answering) to act like a handler that calls Stripe back."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes, dict[str, str]]] = []
        self.status = 200
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.received.append((self.path, body, dict(self.headers)))
                if receiver.on_event is not None:
                    receiver.on_event(json.loads(body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.base}/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def events(self, path: str = "/webhook", secret: str = SECRET) -> list[stripe.Event]:
        """Everything received on `path`, each verified exactly as the app's receiver verifies it."""
        with self._lock:
            received = [(body, headers) for got_path, body, headers in self.received if got_path == path]
        return [stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret) for body, headers in received]

    def types(self) -> list[str]:
        return [event.type for event in self.events()]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def fake(receiver: Receiver) -> Iterator[RunningFakeStripe]:
    with start_in_thread(endpoints=[(receiver.url, SECRET)]) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(fake: RunningFakeStripe, receiver: Receiver) -> Iterator[None]:
    httpx.post(f"{fake.url}/_fake/reset").raise_for_status()
    httpx.post(f"{fake.url}/_fake/webhooks", json={"enabled": True}).raise_for_status()
    receiver.clear()
    receiver.status = 200
    receiver.on_event = None
    yield
    for endpoint in httpx.get(f"{fake.url}/_fake/endpoints").json()["data"]:
        if endpoint["url"] != receiver.url:
            httpx.delete(f"{fake.url}/_fake/endpoints/{endpoint['id']}").raise_for_status()


@pytest.fixture
async def client(fake: RunningFakeStripe) -> AsyncIterator[stripe.StripeClient]:
    http_client = stripe.HTTPXClient()
    yield stripe.StripeClient(API_KEY, base_addresses={"api": fake.url}, http_client=http_client)
    await http_client.close_async()


async def control(fake: RunningFakeStripe, path: str, body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        response = await (http.post(path, json=body) if body is not None else http.get(path))
        response.raise_for_status()
        return response.json()


async def advance(fake: RunningFakeStripe, seconds: int) -> list[str]:
    result = await control(fake, "/_fake/clock/advance", {"seconds": seconds})
    return list(result["events"])


async def now(fake: RunningFakeStripe) -> int:
    return int((await control(fake, "/_fake/clock"))["now"])


async def make_price(
    client: stripe.StripeClient, amount: int = 2900, *, lookup_key: str = "pro_monthly", interval: str = "month"
) -> stripe.Price:
    product = await client.v1.products.create_async({"name": "Merkato Pro"})
    return await client.v1.prices.create_async(
        {
            "product": product.id,
            "unit_amount": amount,
            "currency": "usd",
            "recurring": {"interval": interval},
            "lookup_key": lookup_key,
            "nickname": f"Plan {lookup_key}",
        }
    )


async def subscribe(
    client: stripe.StripeClient,
    fake: RunningFakeStripe,
    customer: stripe.Customer,
    price: stripe.Price,
    *,
    trial_days: int | None = None,
    card_fails: bool = False,
) -> stripe.Subscription:
    """Checkout as the app starts it, then a person paying on the hosted page."""
    subscription_data: dict[str, Any] = {"metadata": {"tenant_id": "tenant-1"}}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    session = await client.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 1}],
            "subscription_data": subscription_data,
            "success_url": "https://acme.example/billing/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://acme.example/billing",
        }
    )
    async with httpx.AsyncClient() as http:
        paid = await http.post(f"{session.url}/pay", data={"card_fails": "on"} if card_fails else {})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://acme.example/billing/done?session={session.id}"
    session = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert session.subscription is not None
    return await client.v1.subscriptions.retrieve_async(str(session.subscription))


async def test_customers_products_and_prices_by_lookup_key(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(
        {"email": "admin@acme.test", "name": "Acme", "metadata": {"tenant_id": "t1", "slug": "acme"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.metadata.to_dict() == {"tenant_id": "t1", "slug": "acme"}
    updated = await client.v1.customers.update_async(customer.id, {"name": "Acme Inc", "metadata": {"slug": ""}})
    assert updated.name == "Acme Inc"
    assert updated.metadata.to_dict() == {"tenant_id": "t1"}
    assert (await client.v1.customers.retrieve_async(customer.id)).email == "admin@acme.test"

    monthly = await make_price(client, 2900, lookup_key="pro_monthly")
    yearly = await make_price(client, 29000, lookup_key="pro_yearly", interval="year")
    assert monthly.id.startswith("price_")
    assert isinstance(monthly.product, str)
    assert monthly.product.startswith("prod_")
    assert (monthly.lookup_key, monthly.unit_amount, monthly.currency) == ("pro_monthly", 2900, "usd")
    assert monthly.recurring is not None
    assert monthly.recurring.interval == "month"

    found = await client.v1.prices.list_async({"lookup_keys": ["pro_yearly"], "active": True})
    assert [price.id for price in found.data] == [yearly.id]
    assert found.object == "list"
    assert found.has_more is False
    assert found.url == "/v1/prices"
    both = await client.v1.prices.list_async({"lookup_keys": ["pro_monthly", "pro_yearly"], "expand": ["data.product"]})
    assert {price.id for price in both.data} == {monthly.id, yearly.id}
    assert all(isinstance(price.product, stripe.Product) for price in both.data)
    assert (await client.v1.prices.retrieve_async(monthly.id)).nickname == "Plan pro_monthly"

    with pytest.raises(stripe.InvalidRequestError) as taken:
        await make_price(client, 3900, lookup_key="pro_monthly")
    assert taken.value.http_status == 400
    assert taken.value.param == "lookup_key"
    products = await client.v1.products.list_async()
    moved = await client.v1.prices.create_async(
        {
            "product": products.data[0].id,
            "unit_amount": 3900,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "lookup_key": "pro_monthly",
            "transfer_lookup_key": True,
        }
    )
    current = await client.v1.prices.list_async({"lookup_keys": ["pro_monthly"]})
    assert [price.id for price in current.data] == [moved.id]


async def test_checkout_with_a_trial_starts_a_trialing_subscription(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    price = await make_price(client)
    session = await client.v1.checkout.sessions.create_async(
        {
            "mode": "subscription",
            "customer": customer.id,
            "client_reference_id": "tenant-1",
            "line_items": [{"price": price.id, "quantity": 1}],
            "subscription_data": {"trial_period_days": 14, "metadata": {"tenant_id": "tenant-1"}},
            "tax_id_collection": {"enabled": True},
            "metadata": {"tenant_id": "tenant-1"},
            "success_url": "https://acme.example/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://acme.example/billing",
        },
        options={"idempotency_key": "checkout-tenant-1"},
    )
    assert session.id.startswith("cs_test_")
    assert session.status == "open"
    assert session.url == f"{fake.url}/checkout/{session.id}"
    assert session.success_url == "https://acme.example/done?session={CHECKOUT_SESSION_ID}"
    assert session.tax_id_collection is not None
    assert session.tax_id_collection.enabled is True

    async with httpx.AsyncClient() as http:
        page = await http.get(session.url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for needle in ('id="pay"', 'name="card_fails"', 'id="card_fails"', "Plan pro_monthly", "$29.00", "14 days"):
            assert needle in page.text
        receiver.clear()
        paid = await http.post(f"{session.url}/pay", data={})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://acme.example/done?session={session.id}"
    # delivered, in Stripe's order, before the page answered
    assert receiver.types() == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]

    done = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert done.status == "complete"
    assert done.payment_status == "no_payment_required"
    assert done.customer == customer.id
    assert done.url is None
    assert isinstance(done.subscription, str)
    assert done.subscription.startswith("sub_")
    sub = await client.v1.subscriptions.retrieve_async(done.subscription)
    assert sub.status == "trialing"
    assert sub.metadata.to_dict() == {"tenant_id": "tenant-1"}
    assert sub.trial_start is not None
    assert sub.trial_end == sub.trial_start + 14 * DAY
    item = sub["items"].data[0]
    assert item.id.startswith("si_")
    assert item.price.id == price.id
    assert (item.current_period_start, item.current_period_end) == (sub.trial_start, sub.trial_end)
    assert "current_period_end" not in sub.to_dict()  # gone from the top level since 2025

    created, invoice_created, *_, completed = receiver.events()
    assert created.data.object["id"] == sub.id
    assert created.data.object["status"] == "trialing"
    invoice = invoice_created.data.object
    assert invoice["parent"]["subscription_details"]["subscription"] == sub.id
    assert invoice["parent"]["subscription_details"]["metadata"].to_dict() == {"tenant_id": "tenant-1"}
    assert completed.data.object["subscription"] == sub.id
    assert completed.data.object["client_reference_id"] == "tenant-1"
    first = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (first.status, first.amount_due, first.billing_reason) == ("paid", 0, "subscription_create")
    line_items = await client.v1.checkout.sessions.line_items.list_async(session.id)
    assert [(item.price.id, item.quantity) for item in line_items.data] == [(price.id, 1)]
    invoice_lines = await client.v1.invoices.line_items.list_async(first.id)
    assert [(line.amount, line.period.end) for line in invoice_lines.data] == [(0, sub.trial_end)]

    async with httpx.AsyncClient() as http:
        again = await http.post(f"{session.url}/pay", data={})
    assert again.status_code == 303  # a second submit changes nothing
    assert len((await client.v1.subscriptions.list_async({"customer": customer.id, "status": "all"})).data) == 1


async def test_trial_end_renews_and_bills_each_month(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    price = await make_price(client)
    sub = await subscribe(client, fake, customer, price, trial_days=7)
    assert sub.trial_end is not None
    trial_end = sub.trial_end
    receiver.clear()

    await advance(fake, 4 * DAY)
    assert receiver.types() == ["customer.subscription.trial_will_end"]
    assert await advance(fake, 3 * DAY - HOUR) == []

    receiver.clear()
    await advance(fake, HOUR)
    assert receiver.types() == [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    assert receiver.events()[0].data.previous_attributes["status"] == "trialing"
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    item = sub["items"].data[0]
    assert sub.status == "active"
    assert (item.current_period_start, item.current_period_end) == (trial_end, add_months(trial_end, 1))
    renewal = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (renewal.status, renewal.amount_due, renewal.amount_paid, renewal.amount_remaining) == (
        "paid",
        2900,
        2900,
        0,
    )
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.currency == "usd"
    assert renewal.number is not None
    assert renewal.attempt_count == 1
    assert renewal.period_end == trial_end
    assert renewal.parent is not None
    assert renewal.parent.subscription_details is not None
    assert renewal.parent.subscription_details.subscription == sub.id
    line = renewal.lines.data[0]
    assert (line.amount, line.period.start, line.period.end) == (2900, trial_end, add_months(trial_end, 1))

    await advance(fake, add_months(trial_end, 1) - await now(fake))
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub["items"].data[0].current_period_end == add_months(trial_end, 2)
    invoices = await client.v1.invoices.list_async({"customer": customer.id, "limit": 2})
    assert [invoice.period_end for invoice in invoices.data] == [add_months(trial_end, 1), trial_end]
    assert invoices.has_more is True
    assert all(invoice.status == "paid" for invoice in invoices.data)
    by_sub = await client.v1.invoices.list_async({"subscription": sub.id, "limit": 10})
    assert len(by_sub.data) == 3


async def test_declined_card_goes_past_due_then_unpaid_and_the_portal_fixes_it(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test", "name": "Acme"})
    price = await make_price(client)
    sub = await subscribe(client, fake, customer, price, trial_days=14, card_fails=True)
    assert sub.status == "trialing"  # the card pays at checkout; it is declined from the renewal on
    assert sub.trial_end is not None
    trial_end = sub.trial_end
    receiver.clear()

    await advance(fake, trial_end - await now(fake))
    assert receiver.types() == [
        "customer.subscription.trial_will_end",
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert receiver.events()[-1].data.previous_attributes["status"] == "active"
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "past_due"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (invoice.status, invoice.attempt_count, invoice.amount_remaining) == ("open", 1, 2900)
    assert invoice.next_payment_attempt == trial_end + 3 * DAY
    assert (await client.v1.customers.retrieve_async(customer.id)).delinquent is True

    for days, attempt, next_attempt in ((3, 2, trial_end + 5 * DAY), (2, 3, trial_end + 7 * DAY)):
        receiver.clear()
        await advance(fake, days * DAY)
        failed = receiver.events()
        assert [event.type for event in failed] == ["invoice.payment_failed"]
        assert failed[0].data.object["attempt_count"] == attempt
        assert failed[0].data.object["next_payment_attempt"] == next_attempt

    receiver.clear()
    await advance(fake, 2 * DAY)
    assert receiver.types() == ["invoice.payment_failed", "customer.subscription.updated"]
    last = receiver.events()
    assert last[0].data.object["attempt_count"] == 4
    assert last[0].data.object["next_payment_attempt"] is None
    assert last[1].data.object["status"] == "unpaid"
    assert last[1].data.previous_attributes["status"] == "past_due"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "unpaid"
    assert (await client.v1.invoices.retrieve_async(invoice.id)).status == "open"

    portal = await client.v1.billing_portal.sessions.create_async(
        {"customer": customer.id, "return_url": "https://acme.example/billing"}
    )
    assert portal.id.startswith("bps_")
    assert portal.object == "billing_portal.session"
    assert portal.url == f"{fake.url}/portal/{portal.id}"
    assert portal.return_url == "https://acme.example/billing"
    receiver.clear()
    async with httpx.AsyncClient() as http:
        page = await http.get(portal.url)
        assert 'id="fix_card"' in page.text
        assert "declined" in page.text
        fixed = await http.post(f"{portal.url}/card")
    assert fixed.status_code == 303
    assert fixed.headers["location"] == "https://acme.example/billing"
    assert receiver.types() == [
        "customer.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    assert receiver.events()[-1].data.previous_attributes["status"] == "unpaid"
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "active"
    paid = await client.v1.invoices.retrieve_async(invoice.id)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == ("paid", 2900, 5)
    assert (await client.v1.customers.retrieve_async(customer.id)).delinquent is False


async def test_plan_change_prorates_and_cancel_at_period_end_cancels(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    basic = await make_price(client, 1000, lookup_key="basic_monthly")
    pro = await make_price(client, 2900, lookup_key="pro_monthly")
    sub = await subscribe(client, fake, customer, basic)
    assert sub.status == "active"
    first = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (first.status, first.amount_paid, first.billing_reason) == ("paid", 1000, "subscription_create")
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    assert end == add_months(start, 1)

    await advance(fake, 10 * DAY)
    changed_at = await now(fake)
    receiver.clear()
    sub = await client.v1.subscriptions.update_async(
        sub.id, {"items": [{"id": item.id, "price": pro.id}], "proration_behavior": "create_prorations"}
    )
    assert sub["items"].data[0].price.id == pro.id
    assert sub["items"].data[0].id == item.id
    assert receiver.types() == ["customer.subscription.updated"]
    previous = receiver.events()[0].data.previous_attributes
    assert previous["items"]["data"][0]["price"]["id"] == basic.id

    remaining, length = end - changed_at, end - start
    credit = (1000 * remaining + length // 2) // length
    charge = (2900 * remaining + length // 2) // length
    preview = await client.v1.invoices.create_preview_async({"customer": customer.id, "subscription": sub.id})
    assert preview.id.startswith("upcoming_in")
    assert preview.amount_due == 2900 + charge - credit
    assert preview.currency == "usd"
    assert preview.period_end == end
    assert preview.next_payment_attempt == end
    assert sorted(line.amount for line in preview.lines.data) == sorted([-credit, charge, 2900])

    sub = await client.v1.subscriptions.update_async(sub.id, {"cancel_at_period_end": True})
    assert sub.cancel_at_period_end is True
    assert sub.cancel_at == end
    assert sub.status == "active"
    assert receiver.events()[-1].data.previous_attributes["cancel_at_period_end"] is False
    with pytest.raises(stripe.InvalidRequestError) as none_upcoming:
        await client.v1.invoices.create_preview_async({"customer": customer.id, "subscription": sub.id})
    assert none_upcoming.value.code == "invoice_upcoming_none"
    sub = await client.v1.subscriptions.update_async(sub.id, {"cancel_at_period_end": False})
    assert sub.cancel_at_period_end is False
    assert sub.cancel_at is None
    assert sub.canceled_at is None
    await client.v1.subscriptions.update_async(sub.id, {"cancel_at_period_end": True, "metadata": {"reason": "x"}})

    receiver.clear()
    await advance(fake, end - await now(fake) + DAY)
    assert receiver.types() == ["customer.subscription.deleted"]
    sub = await client.v1.subscriptions.retrieve_async(sub.id)
    assert sub.status == "canceled"
    assert sub.ended_at == end
    assert sub.metadata.to_dict() == {"tenant_id": "tenant-1", "reason": "x"}
    assert sub.cancellation_details is not None
    assert sub.cancellation_details.reason == "cancellation_requested"
    assert (await client.v1.subscriptions.list_async({"customer": customer.id})).data == []
    everything = await client.v1.subscriptions.list_async({"customer": customer.id, "status": "all"})
    assert [s.id for s in everything.data] == [sub.id]
    assert len((await client.v1.invoices.list_async({"subscription": sub.id})).data) == 1  # no renewal


async def test_immediate_cancel_and_always_invoice(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    basic = await make_price(client, 1000, lookup_key="basic_monthly")
    pro = await make_price(client, 2900, lookup_key="pro_monthly")
    sub = await subscribe(client, fake, customer, basic)
    await advance(fake, 15 * DAY)
    receiver.clear()
    sub = await client.v1.subscriptions.update_async(
        sub.id,
        {"items": [{"id": sub["items"].data[0].id, "price": pro.id}], "proration_behavior": "always_invoice"},
    )
    assert receiver.types()[:2] == ["customer.subscription.updated", "invoice.created"]
    upgrade = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert upgrade.billing_reason == "subscription_update"
    assert upgrade.status == "paid"
    assert 0 < upgrade.amount_paid < 1900

    receiver.clear()
    canceled = await client.v1.subscriptions.cancel_async(sub.id)
    assert canceled.status == "canceled"
    assert canceled.canceled_at == canceled.ended_at == await now(fake)
    assert receiver.types() == ["customer.subscription.deleted"]
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscriptions.update_async(sub.id, {"items": [{"price": basic.id}]})


async def test_an_api_subscription_with_a_declined_card_is_incomplete_then_expires(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    price = await make_price(client)
    assert await control(fake, f"/_fake/customers/{customer.id}/card", {"fails": True}) == {
        "customer": customer.id,
        "card_fails": True,
    }
    with pytest.raises(stripe.CardError) as declined:
        await client.v1.subscriptions.create_async(
            {"customer": customer.id, "items": [{"price": price.id}], "payment_behavior": "error_if_incomplete"}
        )
    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"

    sub = await client.v1.subscriptions.create_async({"customer": customer.id, "items": [{"price": price.id}]})
    assert sub.status == "incomplete"
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 1, None)

    receiver.clear()
    await advance(fake, 23 * HOUR)
    assert receiver.types() == ["invoice.voided", "customer.subscription.updated"]
    assert (await client.v1.subscriptions.retrieve_async(sub.id)).status == "incomplete_expired"
    assert (await client.v1.invoices.retrieve_async(invoice.id)).status == "void"
    assert len((await client.v1.subscriptions.list_async({"customer": customer.id, "status": "all"})).data) == 1


async def test_idempotency_keys_replay_the_first_answer(client: stripe.StripeClient, fake: RunningFakeStripe) -> None:
    params: dict[str, Any] = {"email": "admin@acme.test", "metadata": {"tenant_id": "t1"}}
    first = await client.v1.customers.create_async(params, options={"idempotency_key": "signup-t1"})
    second = await client.v1.customers.create_async(params, options={"idempotency_key": "signup-t1"})
    assert first.id == second.id
    assert len((await client.v1.customers.list_async()).data) == 1
    events = await control(fake, "/_fake/events")
    assert [e["type"] for e in events["data"]] == ["customer.created"]
    assert events["data"][0]["request"]["idempotency_key"] == "signup-t1"

    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async({"email": "other@acme.test"}, options={"idempotency_key": "signup-t1"})

    async with httpx.AsyncClient(base_url=fake.url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        body = {"email": "admin@acme.test", "metadata[tenant_id]": "t1"}
        replayed = await http.post("/v1/customers", data=body, headers={"Idempotency-Key": "signup-t1"})
    assert replayed.status_code == 200
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == first.id


async def test_errors_have_stripes_shape(client: stripe.StripeClient, fake: RunningFakeStripe) -> None:
    for call in (
        client.v1.customers.retrieve_async("cus_missing"),
        client.v1.prices.retrieve_async("price_missing"),
        client.v1.subscriptions.retrieve_async("sub_missing"),
        client.v1.invoices.retrieve_async("in_missing"),
        client.v1.checkout.sessions.retrieve_async("cs_test_missing"),
        client.v1.events.retrieve_async("evt_missing"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            await call
        assert missing.value.http_status == 404
        assert missing.value.code == "resource_missing"

    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    with pytest.raises(stripe.InvalidRequestError) as bad_price:
        await client.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer.id,
                "line_items": [{"price": "price_missing", "quantity": 1}],
                "success_url": "https://acme.example/done",
            }
        )
    assert bad_price.value.http_status == 400
    assert bad_price.value.param == "line_items[0][price]"
    assert "No such price: 'price_missing'" in str(bad_price.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as no_currency:
        await client.v1.prices.create_async({"product": "prod_x", "unit_amount": 100})
    assert no_currency.value.http_status == 400

    live_http = stripe.HTTPXClient()
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": fake.url}, http_client=live_http)
    with pytest.raises(stripe.AuthenticationError):
        await live.v1.customers.list_async()
    await live_http.close_async()

    async with httpx.AsyncClient(base_url=fake.url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        unknown = await http.get("/v1/nothing_here")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    assert "Unrecognized request URL" in unknown.json()["error"]["message"]


async def test_invoice_pages_and_pdf(client: stripe.StripeClient, fake: RunningFakeStripe) -> None:
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    sub = await subscribe(client, fake, customer, await make_price(client))
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert invoice.hosted_invoice_url == f"{fake.url}/invoices/{invoice.id}"
    assert invoice.invoice_pdf == f"{fake.url}/invoices/{invoice.id}/pdf"
    async with httpx.AsyncClient() as http:
        pdf = await http.get(invoice.invoice_pdf)
        hosted = await http.get(invoice.hosted_invoice_url)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
    assert str(invoice.number) in text
    assert "$29.00" in text
    assert hosted.status_code == 200
    assert str(invoice.number) in hosted.text


async def test_failed_deliveries_are_recorded_and_redelivered(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    receiver.status = 500
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    deliveries = (await control(fake, "/_fake/deliveries"))["data"]
    assert [(d["event_type"], d["status"], d["ok"]) for d in deliveries] == [("customer.created", 500, False)]
    event_id = deliveries[0]["event_id"]
    assert (await client.v1.events.retrieve_async(event_id)).pending_webhooks == 1

    receiver.status = 200
    resent = await control(fake, "/_fake/webhooks/redeliver", {"event_ids": [event_id]})
    assert [(d["event_id"], d["ok"]) for d in resent["deliveries"]] == [(event_id, True)]
    assert receiver.types() == ["customer.created", "customer.created"]
    assert (await client.v1.events.retrieve_async(event_id)).pending_webhooks == 0

    assert await control(fake, "/_fake/webhooks", {"enabled": False}) == {"enabled": False}
    await client.v1.customers.update_async(customer.id, {"name": "Quiet"})
    assert receiver.types() == ["customer.created", "customer.created"]
    assert [e["type"] for e in (await control(fake, "/_fake/events"))["data"]] == [
        "customer.created",
        "customer.updated",
    ]
    await control(fake, "/_fake/webhooks", {"enabled": True})
    missing = await control(fake, "/_fake/webhooks/redeliver", {})
    assert [d["event_type"] for d in missing["deliveries"]] == ["customer.updated"]

    second = await control(fake, "/_fake/endpoints", {"url": f"{receiver.base}/second", "secret": "whsec_second"})
    assert second["id"].startswith("we_")
    assert second["secret"] == "whsec_second"
    await client.v1.customers.update_async(customer.id, {"name": "Loud"})
    assert [e.type for e in receiver.events("/second", "whsec_second")] == ["customer.updated"]
    with pytest.raises(stripe.SignatureVerificationError):
        receiver.events("/second", SECRET)


async def test_a_receiver_calling_back_during_delivery_does_not_deadlock(
    client: stripe.StripeClient, fake: RunningFakeStripe, receiver: Receiver
) -> None:
    def call_back(event: dict[str, Any]) -> None:
        if event["type"] == "customer.created":
            httpx.post(
                f"{fake.url}/v1/customers/{event['data']['object']['id']}",
                data={"metadata[seen]": "yes"},
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=5,
            ).raise_for_status()

    receiver.on_event = call_back
    customer = await client.v1.customers.create_async({"email": "admin@acme.test"})
    # the update made inside the handler is delivered too, after it, before create returned
    assert receiver.types() == ["customer.created", "customer.updated"]
    assert (await client.v1.customers.retrieve_async(customer.id)).metadata.to_dict() == {"seen": "yes"}


async def test_events_api_and_the_clock(client: stripe.StripeClient, fake: RunningFakeStripe) -> None:
    started = await now(fake)
    first = await client.v1.customers.create_async({"email": "one@acme.test"})
    await advance(fake, 60)
    second = await client.v1.customers.create_async({"email": "two@acme.test"})
    assert second.created == started + 60 == await now(fake)

    newest = await client.v1.events.list_async({"type": "customer.created", "limit": 1})
    assert newest.has_more is True
    assert newest.data[0].data.object["id"] == second.id
    assert newest.data[0].api_version == "2026-10-28.endive"
    assert newest.data[0].livemode is False
    older = await client.v1.events.list_async({"type": "customer.created", "starting_after": newest.data[0].id})
    assert [event.data.object["id"] for event in older.data] == [first.id]
    assert (await client.v1.events.retrieve_async(newest.data[0].id)).created == started + 60

    # the same clock, moved in-process on the server's loop
    assert await fake.advance_async(3600) == []
    assert await now(fake) == started + 60 + 3600
    assert (await control(fake, "/_fake/clock/advance", {"days": 1}))["now"] == started + 60 + 3600 + DAY


async def test_a_second_server_with_its_own_state_clock_and_public_base(client: stripe.StripeClient) -> None:
    state = FakeStripe(now=1_800_000_000)
    with start_in_thread(state, public_base="http://stripe.localhost:12111/") as other:
        assert other.state is state
        assert (await control(other, "/_fake/clock")) == {"now": 1_800_000_000}
        own_http = stripe.HTTPXClient()
        own = stripe.StripeClient(API_KEY, base_addresses={"api": other.url}, http_client=own_http)
        customer = await own.v1.customers.create_async({"email": "admin@globex.test"})
        assert customer.created == 1_800_000_000
        portal = await own.v1.billing_portal.sessions.create_async({"customer": customer.id})
        assert portal.url == f"http://stripe.localhost:12111/portal/{portal.id}"
        await own_http.close_async()
    # the module's server never saw it
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.customers.retrieve_async(customer.id)
