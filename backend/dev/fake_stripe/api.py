"""The fake Stripe's REST API (/v1/…) as the SDK calls it: authentication, routing, Stripe's
idempotency keys, `expand[]`, errors in Stripe's shape, and webhook delivery of the request's
events before the response goes back."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from backend.dev.fake_stripe.model import IdempotentResult, new_id
from backend.dev.fake_stripe.params import Params, StripeApiError, get_list, parse_form
from backend.dev.fake_stripe.state import API_VERSION, FakeStripe

Handler = Callable[[FakeStripe, Params, str], dict[str, Any]]

_ID = r"(?P<id>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}$"), handler)
    for method, pattern, handler in [
        ("POST", "/v1/customers", lambda s, p, _: s.create_customer(p)),
        ("GET", "/v1/customers", lambda s, p, _: s.list_customers(p)),
        ("GET", f"/v1/customers/{_ID}", lambda s, p, i: s.retrieve_customer(i)),
        ("POST", f"/v1/customers/{_ID}", lambda s, p, i: s.update_customer(i, p)),
        ("POST", "/v1/products", lambda s, p, _: s.create_product(p)),
        ("GET", "/v1/products", lambda s, p, _: s.list_products(p)),
        ("GET", f"/v1/products/{_ID}", lambda s, p, i: s.retrieve_product(i)),
        ("POST", f"/v1/products/{_ID}", lambda s, p, i: s.update_product(i, p)),
        ("POST", "/v1/prices", lambda s, p, _: s.create_price(p)),
        ("GET", "/v1/prices", lambda s, p, _: s.list_prices(p)),
        ("GET", f"/v1/prices/{_ID}", lambda s, p, i: s.retrieve_price(i)),
        ("POST", f"/v1/prices/{_ID}", lambda s, p, i: s.update_price(i, p)),
        ("POST", "/v1/checkout/sessions", lambda s, p, _: s.create_checkout_session(p)),
        ("GET", "/v1/checkout/sessions", lambda s, p, _: s.list_checkout_sessions(p)),
        ("GET", f"/v1/checkout/sessions/{_ID}", lambda s, p, i: s.retrieve_checkout_session(i)),
        ("POST", f"/v1/checkout/sessions/{_ID}/expire", lambda s, p, i: s.expire_checkout_session(i)),
        ("GET", f"/v1/checkout/sessions/{_ID}/line_items", lambda s, p, i: s.list_checkout_line_items(i, p)),
        ("POST", "/v1/subscriptions", lambda s, p, _: s.create_subscription(p)),
        ("GET", "/v1/subscriptions", lambda s, p, _: s.list_subscriptions(p)),
        ("GET", f"/v1/subscriptions/{_ID}", lambda s, p, i: s.retrieve_subscription(i)),
        ("POST", f"/v1/subscriptions/{_ID}", lambda s, p, i: s.update_subscription(i, p)),
        ("DELETE", f"/v1/subscriptions/{_ID}", lambda s, p, i: s.cancel_subscription(i, p)),
        ("POST", "/v1/invoices/create_preview", lambda s, p, _: s.create_preview(p)),
        ("GET", "/v1/invoices", lambda s, p, _: s.list_invoices(p)),
        ("GET", f"/v1/invoices/{_ID}", lambda s, p, i: s.retrieve_invoice(i)),
        ("POST", f"/v1/invoices/{_ID}/pay", lambda s, p, i: s.pay_invoice(i, p)),
        ("GET", f"/v1/invoices/{_ID}/lines", lambda s, p, i: s.list_invoice_lines(i, p)),
        ("POST", "/v1/billing_portal/sessions", lambda s, p, _: s.create_portal_session(p)),
        ("GET", "/v1/events", lambda s, p, _: s.list_events(p)),
        ("GET", f"/v1/events/{_ID}", lambda s, p, i: s.retrieve_event(i)),
    ]
]


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _route(method: str, path: str) -> tuple[Handler, str]:
    for route_method, pattern, handler in _ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return handler, match.groupdict().get("id") or ""
    raise StripeApiError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
    )


def _authenticate(headers: Mapping[str, str]) -> None:
    authorization = headers.get("authorization", "")
    if not authorization:
        raise StripeApiError(
            401,
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    scheme, _, key = authorization.partition(" ")
    # only test-mode keys: a live key pointed at the fake is a configuration mistake worth stopping
    if scheme.lower() != "bearer" or not key.startswith(("sk_test_", "rk_test_")):
        shown = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
        raise StripeApiError(401, f"Invalid API Key provided: {shown}", code="api_key_invalid")


async def handle_api(
    state: FakeStripe, method: str, path: str, query: str, body: bytes, headers: Mapping[str, str]
) -> ApiResponse:
    """One /v1 request, start to finish. `headers` is keyed by lower-case names."""
    request_id = new_id("req_", 14)
    response_headers = {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version") or API_VERSION}
    method = method.upper()
    idempotency_key = headers.get("idempotency-key") if method == "POST" else None
    try:
        _authenticate(headers)
        params = parse_form(body) if method == "POST" else parse_form(query)
        if idempotency_key:
            replay = _replay(state, idempotency_key, method, path, params)
            if replay is not None:
                response_headers["Idempotent-Replayed"] = "true"
                return ApiResponse(replay.status, copy.deepcopy(replay.response), response_headers)
        handler, object_id = _route(method, path)
        try:
            with state.request_context(request_id, idempotency_key):
                result = handler(state, params, object_id)
            expand = get_list(params, "expand")
            if expand:
                result = state.expand(copy.deepcopy(result), expand)
            status = 200
        except StripeApiError as error:
            # a declined card did run (and is recorded), so its answer is kept for the key like Stripe's
            if error.status != 402 or not idempotency_key:
                raise
            result, status = error.body(), error.status
        if idempotency_key:
            state.idempotency[idempotency_key] = IdempotentResult(
                method, path, copy.deepcopy(params), status, copy.deepcopy(result)
            )
        return ApiResponse(status, result, response_headers)
    except StripeApiError as error:
        return ApiResponse(error.status, error.body(), response_headers)
    finally:
        state.settle()
        await state.deliver()


def _replay(state: FakeStripe, key: str, method: str, path: str, params: Params) -> IdempotentResult | None:
    seen = state.idempotency.get(key)
    if seen is None:
        return None
    if (seen.method, seen.path) != (method, path):
        raise StripeApiError(
            400,
            f"Keys for idempotent requests can only be used for the same endpoint they were first used for "
            f"('{seen.method} {seen.path}' vs '{method} {path}'). Try using a key other than '{key}' if you meant "
            "to execute a different request.",
            type="idempotency_error",
        )
    # compared as parameters, not bytes: clients encode brackets differently
    if seen.params != params:
        raise StripeApiError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were first used with. "
            f"Try using a key other than '{key}' if you meant to execute a different request.",
            type="idempotency_error",
        )
    return seen
