"""The owner's billing page: plan, status, usage against the plan's limits, the next invoice,
past invoices, and the changes an owner makes (plan, interval, cancellation, payment methods).

Every route here is exempt from read-only mode: an owner whose workspace is read-only for want
of payment must still be able to pay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import stripe
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from backend.auth.origins import here
from backend.authz.guards import staff
from backend.authz.principal import Principal
from backend.authz.roles import Permission
from backend.authz.workspace import AUTH as EXEMPT
from backend.billing import service as billing
from backend.billing.gateway import Invoice, InvoiceStatus, UpcomingInvoice
from backend.billing.queries import plan_standing
from backend.dependencies import CurrentUser, Workspace
from backend.kit.errors import DomainError
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.kit.request_id import current_request_id
from portals.shared.forms import form_page
from tenants.billing.access import SubscriptionStatus
from tenants.billing.entitlements import UPGRADE_PATH
from tenants.billing.plans import PLANS, Interval
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
OWNER_ONLY = [staff(Permission.MANAGE_BILLING)]
PAGE = "staff/billing.html"


async def _context(
    request: Req, user: Principal, workspace: TenantInfo, *, notice: str = "", error: str = ""
) -> dict[str, Any]:
    state = request.app.state
    standing = await plan_standing(state.db, user.context)
    tenant, plan = standing.tenant, standing.plan
    invoices: list[Invoice] = []
    upcoming: UpcomingInvoice | None = None
    stripe_error = ""
    if state.settings.billing_enabled and tenant.stripe_customer_id:
        stripe_gateway = billing.gateway(state.settings)
        try:
            invoices = await stripe_gateway.invoices(tenant.stripe_customer_id)
            if tenant.stripe_subscription_id and not tenant.cancel_at_period_end:
                upcoming = await stripe_gateway.upcoming(tenant.stripe_customer_id, tenant.stripe_subscription_id)
        except stripe.StripeError as failure:
            billing.log.warning("billing page of %s: Stripe unavailable: %s", tenant.id, failure)
            stripe_error = _("Invoices cannot be shown right now: the payment provider did not answer.")
    return {
        "account": tenant,  # not "tenant": the layout's own variable of that name is the TenantInfo
        "plan": plan,
        "plans": list(PLANS.values()),
        "intervals": list(Interval),
        "invoice_status": InvoiceStatus.label_of,
        "status": (
            SubscriptionStatus.label_of(tenant.subscription_status) if tenant.subscription_status else _("Billing off")
        ),
        "usage": standing.usage,
        "invoices": invoices,
        "upcoming": upcoming,
        "billing_enabled": state.settings.billing_enabled,
        "notice": notice,
        "error": error or stripe_error,
        "access": workspace.access(state.settings.billing_grace),
    }


@get(UPGRADE_PATH, guards=OWNER_ONLY, name="billing")
async def billing_page(request: Req, user: CurrentUser, workspace: Workspace) -> Template:
    return Template(template_name=PAGE, context=await _context(request, user, workspace))


def _enabled(request: Req) -> None:
    if not request.app.state.settings.billing_enabled:
        raise NotFoundException()


def _on_page(request: Req, user: Principal, workspace: TenantInfo) -> AbstractAsyncContextManager[None]:
    """An owner's step on the billing page: refused, the page again saying why."""
    return form_page(PAGE, lambda refused: _context(request, user, workspace, error=refused.message))


async def _change(
    request: Req, user: Principal, workspace: TenantInfo, change: Callable[[], Awaitable[None]], done: str
) -> Response[Any]:
    """Run an owner's change; a refusal, or Stripe's, is shown on the page (400)."""
    _enabled(request)
    async with _on_page(request, user, workspace):
        try:
            await change()
        except stripe.StripeError as failure:
            billing.log.error("billing change for %s failed: %s", user.tenant_id, failure)
            raise DomainError(_("The payment provider refused the change. Please try again.")) from failure
    request.app.state.directory.forget(workspace.slug)
    return Template(template_name=PAGE, context=await _context(request, user, workspace, notice=done))


@post(f"{UPGRADE_PATH}/plan", guards=OWNER_ONLY, opt=EXEMPT, name="billing_change_plan")
async def change_plan(request: Req, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    form = await request.form()
    state = request.app.state

    async def change() -> None:
        await billing.change_plan(
            state.db, user.context, state.settings, str(form.get("plan", "")), str(form.get("interval", ""))
        )

    return await _change(request, user, workspace, change, _("Your plan has been changed."))


async def _cancellation(request: Req, user: Principal, workspace: TenantInfo, *, cancel: bool) -> Response[Any]:
    state = request.app.state

    async def change() -> None:
        await billing.set_cancellation(state.db, user.context, state.settings, cancel=cancel)

    if cancel:
        done = _("Your subscription will end at the end of the current period.")
    else:
        done = _("Your subscription continues.")
    return await _change(request, user, workspace, change, done)


@post(f"{UPGRADE_PATH}/cancel", guards=OWNER_ONLY, opt=EXEMPT, name="billing_cancel")
async def cancel(request: Req, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    return await _cancellation(request, user, workspace, cancel=True)


@post(f"{UPGRADE_PATH}/resume", guards=OWNER_ONLY, opt=EXEMPT, name="billing_resume")
async def resume(request: Req, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    return await _cancellation(request, user, workspace, cancel=False)


@post(f"{UPGRADE_PATH}/portal", guards=OWNER_ONLY, opt=EXEMPT, name="billing_portal")
async def portal(request: Req, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    """To Stripe's Billing Portal (payment methods, invoices); it returns to this page."""
    _enabled(request)
    state = request.app.state
    return_url = f"{here(request)}{UPGRADE_PATH}"
    async with _on_page(request, user, workspace):
        try:
            url = await billing.portal_url(
                state.db, user.context, state.settings, return_url=return_url, key=current_request_id() or str(new_id())
            )
        except stripe.StripeError as failure:
            billing.log.error("billing portal for %s failed: %s", user.tenant_id, failure)
            raise DomainError(_("The payment provider did not answer. Please try again.")) from failure
    return Redirect(path=url)


BILLING_ROUTES = [billing_page, change_plan, cancel, resume, portal]
