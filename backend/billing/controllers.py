"""POST /webhooks/stripe on the apex: verify, keep in the inbox, answer 202. The billing worker
applies the event later (backend/billing/tasks.py); a stuck one is re-run by the outbox relay."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response, post
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_400_BAD_REQUEST

from backend.auth.steps import elevated_step
from backend.billing.service import BadWebhook, customer_of, store_event, tenant_of_customer, verified_event
from tenants.context import NO_CONTEXT

log = logging.getLogger("merkato.billing")


@post("/webhooks/stripe", name="stripe_webhook", include_in_schema=False)
async def stripe_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    state = request.app.state
    body = await request.body()
    try:
        event = verified_event(body, request.headers.get("stripe-signature", ""), state.settings)
    except BadWebhook as refusal:
        log.warning("Stripe webhook refused: %s", refusal)
        return Response({"error": "invalid signature"}, status_code=HTTP_400_BAD_REQUEST, media_type=MediaType.JSON)
    customer = customer_of(event)
    tenant_id = None
    if customer:
        async with state.db.transaction(NO_CONTEXT) as session:
            tenant_id = await tenant_of_customer(session, customer)
    if tenant_id is None:
        # not one of our workspaces' customers (another product on the same Stripe account, say)
        log.info("Stripe event %s (%s) names no workspace: ignored", event.get("id"), event.get("type"))
        return Response({"status": "ignored"}, status_code=HTTP_202_ACCEPTED, media_type=MediaType.JSON)
    async with elevated_step(state.db, tenant_id) as session:
        stored = await store_event(session, event)
    return Response(
        {"status": "accepted" if stored else "duplicate"}, status_code=HTTP_202_ACCEPTED, media_type=MediaType.JSON
    )


WEBHOOK_ROUTES = [stripe_webhook]
