"""The fake Stripe as a Litestar app: the REST API under /v1 (see api.py), the pages a person
visits (hosted Checkout, billing portal, hosted invoice and PDF), and the JSON control API under
/_fake/ that tests and the demo use to move the clock, flip a card, and inspect or re-send events."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, delete, get, post, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from backend.dev.fake_stripe.api import handle_api
from backend.dev.fake_stripe.model import DAY
from backend.dev.fake_stripe.pages import checkout_page, invoice_page, invoice_pdf, message_page, portal_page
from backend.dev.fake_stripe.params import StripeApiError
from backend.dev.fake_stripe.state import API_VERSION, FakeStripe

logger = logging.getLogger(__name__)
AnyRequest = Request[Any, Any, Any]
_PAGE_PREFIXES = ("/checkout/", "/portal/", "/invoices/")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=json.dumps(body, indent=2).encode("utf-8"),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _html(body: str, status: int = 200) -> Response[bytes]:
    return Response(content=body.encode("utf-8"), status_code=status, media_type="text/html")


def _see_other(url: str) -> Response[bytes]:
    return Response(content=b"", status_code=303, headers={"Location": url})


async def _json_body(request: AnyRequest) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise StripeApiError(400, f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise StripeApiError(400, "The body must be a JSON object.")
    return body


def _int_field(body: dict[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StripeApiError(400, f"{name} must be a number.", param=name)
    return int(value)


def _error_response(request: AnyRequest, error: StripeApiError) -> Response[bytes]:
    if request.url.path.startswith(_PAGE_PREFIXES):
        return _html(message_page("Error", error.message), error.status)
    return _json(error.body(), error.status)


def _http_error(request: AnyRequest, error: HTTPException) -> Response[bytes]:
    # Litestar's own refusals (an unknown page, a wrong method) in the same shape as the rest
    return _error_response(request, StripeApiError(error.status_code, str(error.detail)))


def _unexpected(request: AnyRequest, error: Exception) -> Response[bytes]:
    # a bug in the fake: logged here (the app configures no logging for us), answered as Stripe's
    # api_error so the SDK raises stripe.APIError naming it
    logger.exception("fake Stripe failed on %s %s", request.method, request.url.path)
    return _error_response(
        request, StripeApiError(500, f"The fake Stripe failed: {type(error).__name__}: {error}", type="api_error")
    )


def create_fake_stripe_app(state: FakeStripe) -> Litestar:
    """The ASGI app serving this state. It owns nothing but the webhook client, closed on shutdown."""

    @route("/v1/{path:path}", http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE])
    async def stripe_api(request: AnyRequest) -> Response[bytes]:
        headers = {name.lower(): value for name, value in request.headers.items()}
        query = request.scope.get("query_string", b"").decode("latin-1")
        response = await handle_api(state, request.method, request.scope["path"], query, await request.body(), headers)
        return _json(response.body, response.status, response.headers)

    @get("/")
    async def index() -> Response[bytes]:
        return _json({"fake_stripe": True, "now": state.now, "api_version": API_VERSION})

    # ---------------------------------------------------------------- pages

    @get("/checkout/{session_id:str}")
    async def checkout(session_id: FromPath[str]) -> Response[bytes]:
        return _html(checkout_page(state, state.checkout_session(session_id)))

    @post("/checkout/{session_id:str}/pay")
    async def pay(request: AnyRequest, session_id: FromPath[str]) -> Response[bytes]:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        card_fails = form.get("card_fails", "").lower() in ("on", "true", "1", "yes")
        try:
            target = state.pay_checkout_session(session_id, card_fails=card_fails)
        finally:
            state.settle()
            await state.deliver()
        return _see_other(target)

    @get("/portal/{session_id:str}")
    async def portal(session_id: FromPath[str]) -> Response[bytes]:
        return _html(portal_page(state, state.portal_session(session_id)))

    @post("/portal/{session_id:str}/card")
    async def portal_card(session_id: FromPath[str]) -> Response[bytes]:
        try:
            target = state.fix_card(session_id)
        finally:
            state.settle()
            await state.deliver()
        return _see_other(target or f"/portal/{session_id}")

    @get("/invoices/{invoice_id:str}")
    async def hosted_invoice(invoice_id: FromPath[str]) -> Response[bytes]:
        return _html(invoice_page(state, state.invoice(invoice_id)))

    @get("/invoices/{invoice_id:str}/pdf")
    async def hosted_invoice_pdf(invoice_id: FromPath[str]) -> Response[bytes]:
        invoice = state.invoice(invoice_id)
        return Response(
            content=invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{invoice.number or invoice.id}.pdf"'},
        )

    # ---------------------------------------------------------------- control API

    @get("/_fake/clock")
    async def clock() -> Response[bytes]:
        return _json({"now": state.now})

    @post("/_fake/clock/advance")
    async def advance(request: AnyRequest) -> Response[bytes]:
        body = await _json_body(request)
        seconds = _int_field(body, "seconds") + _int_field(body, "days") * DAY
        if "to" in body:
            seconds += _int_field(body, "to") - state.now
        events = await state.advance(seconds)
        return _json({"now": state.now, "events": events})

    @post("/_fake/customers/{customer_id:str}/card")
    async def card(request: AnyRequest, customer_id: FromPath[str]) -> Response[bytes]:
        body = await _json_body(request)
        fails = body.get("fails")
        if not isinstance(fails, bool):
            raise StripeApiError(400, "fails must be true or false.", param="fails")
        return _json(state.set_card(customer_id, fails))

    @get("/_fake/events")
    async def all_events(request: AnyRequest) -> Response[bytes]:
        wanted = request.query_params.get("type")
        return _json({"data": [event for event in state.events if wanted is None or event["type"] == wanted]})

    @get("/_fake/deliveries")
    async def deliveries() -> Response[bytes]:
        return _json({"data": [delivery.describe() for delivery in state.webhooks.deliveries]})

    @get("/_fake/webhooks")
    async def webhooks() -> Response[bytes]:
        return _json(
            {
                "enabled": state.webhooks.enabled,
                "endpoints": [endpoint.describe() for endpoint in state.webhooks.endpoints],
            }
        )

    @post("/_fake/webhooks")
    async def switch_webhooks(request: AnyRequest) -> Response[bytes]:
        enabled = (await _json_body(request)).get("enabled")
        if not isinstance(enabled, bool):
            raise StripeApiError(400, "enabled must be true or false.", param="enabled")
        state.webhooks.enabled = enabled
        return _json({"enabled": enabled})

    @post("/_fake/webhooks/redeliver")
    async def redeliver(request: AnyRequest) -> Response[bytes]:
        body = await _json_body(request)
        event_ids = body.get("event_ids")
        if event_ids is None:
            sent = await state.webhooks.redeliver(state.events, only_missing=True)
        elif isinstance(event_ids, list) and all(isinstance(i, str) for i in event_ids):
            unknown = [i for i in event_ids if i not in state.events_by_id]
            if unknown:
                raise StripeApiError(404, f"No such event: '{unknown[0]}'", param="event_ids", code="resource_missing")
            wanted = set(event_ids)
            sent = await state.webhooks.redeliver([event for event in state.events if event["id"] in wanted])
        else:
            raise StripeApiError(400, "event_ids must be a list of event ids.", param="event_ids")
        return _json({"deliveries": [delivery.describe() for delivery in sent]})

    @get("/_fake/endpoints")
    async def endpoints() -> Response[bytes]:
        return _json({"data": [endpoint.describe() for endpoint in state.webhooks.endpoints]})

    @post("/_fake/endpoints")
    async def add_endpoint(request: AnyRequest) -> Response[bytes]:
        body = await _json_body(request)
        url, secret, enabled_events = body.get("url"), body.get("secret"), body.get("enabled_events")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise StripeApiError(400, "url must be an http(s) URL.", param="url")
        if secret is not None and not isinstance(secret, str):
            raise StripeApiError(400, "secret must be a string.", param="secret")
        if enabled_events is not None and not (
            isinstance(enabled_events, list) and all(isinstance(e, str) for e in enabled_events)
        ):
            raise StripeApiError(400, "enabled_events must be a list of event types.", param="enabled_events")
        return _json(state.add_endpoint(url, secret, enabled_events).describe())

    @delete("/_fake/endpoints/{endpoint_id:str}", status_code=200)
    async def remove_endpoint(endpoint_id: FromPath[str]) -> Response[bytes]:
        before = len(state.webhooks.endpoints)
        state.webhooks.endpoints = [e for e in state.webhooks.endpoints if e.id != endpoint_id]
        if len(state.webhooks.endpoints) == before:
            raise StripeApiError(404, f"No such webhook endpoint: '{endpoint_id}'", code="resource_missing")
        return _json({"id": endpoint_id, "deleted": True})

    @post("/_fake/reset")
    async def reset() -> Response[bytes]:
        state.reset()
        return _json({"now": state.now})

    return Litestar(
        route_handlers=[
            stripe_api,
            index,
            checkout,
            pay,
            portal,
            portal_card,
            hosted_invoice,
            hosted_invoice_pdf,
            clock,
            advance,
            card,
            all_events,
            deliveries,
            webhooks,
            switch_webhooks,
            redeliver,
            endpoints,
            add_endpoint,
            remove_endpoint,
            reset,
        ],
        exception_handlers={StripeApiError: _error_response, HTTPException: _http_error, Exception: _unexpected},
        on_shutdown=[state.webhooks.aclose],
        openapi_config=None,
        # the fake often shares a process with the app or the tests: it must not reconfigure logging
        logging_config=None,
    )
