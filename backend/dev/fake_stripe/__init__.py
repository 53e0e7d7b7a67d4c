"""A stateful fake Stripe for tests and the demo: the real `stripe` SDK talks to it over HTTP
(`base_addresses={"api": url}`), it keeps customers, prices, Checkout sessions, subscriptions and
invoices in memory on a fake clock, and it delivers webhooks signed the way Stripe signs them.

    with start_in_thread(endpoints=[("http://127.0.0.1:8000/billing/webhook", "whsec_test")]) as fake:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": fake.url}, http_client=stripe.HTTPXClient())

Never used in production."""

from backend.dev.fake_stripe.app import create_fake_stripe_app
from backend.dev.fake_stripe.params import StripeApiError
from backend.dev.fake_stripe.server import RunningFakeStripe, serve, start_in_thread
from backend.dev.fake_stripe.state import API_VERSION, FakeStripe
from backend.dev.fake_stripe.webhooks import Delivery, WebhookEndpoint, sign

__all__ = [
    "API_VERSION",
    "Delivery",
    "FakeStripe",
    "RunningFakeStripe",
    "StripeApiError",
    "WebhookEndpoint",
    "create_fake_stripe_app",
    "serve",
    "sign",
    "start_in_thread",
]
