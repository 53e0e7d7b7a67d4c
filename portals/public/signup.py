"""Pricing and signup on the apex host: a company picks a plan, creates its workspace and owner,
pays through Stripe Checkout and lands in its staff app once Stripe has confirmed.

Without Stripe (self-hosted) the workspace is active on the default plan at once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import stripe
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import any_, select

from backend.auth import service as auth
from backend.auth.passwords import MIN_LENGTH
from backend.auth.principal import ApexUser
from backend.auth.tasks import tenant_origin
from backend.authz.guards import apex_user
from backend.authz.roles import StaffRole
from backend.billing import service as billing
from backend.kit.forms import InvalidForm, bind
from backend.kit.ids import new_id
from backend.models import Identity, Membership, MembershipKind, Tenant, TenantStatus
from portals.public.routes import ticket_redirect
from portals.shared.forms import FormRejected
from portals.shared.session_cookies import session_cookie
from tenants.billing.plans import PLANS, Interval, Limit, Module, limit_label, module_label
from tenants.context import NO_CONTEXT, TenantContext

Req = Request[Any, Any, Any]


def _interval(value: str) -> Interval:
    return Interval(value) if value in Interval.__members__.values() else Interval.MONTH


def _catalog() -> dict[str, Any]:
    return {
        "plans": list(PLANS.values()),
        "limits": list(Limit),
        "modules": list(Module),
        "limit_label": limit_label,
        "module_label": module_label,
    }


@get("/pricing", name="pricing")
async def pricing(request: Req, interval: FromQuery[str] = "month") -> Template:
    context = {**_catalog(), "interval": _interval(interval), "billing": request.app.state.settings.billing_enabled}
    return Template(template_name="public/pricing.html", context=context)


def _signup_page(request: Req, form: billing.SignupForm, errors: dict[str, str]) -> dict[str, Any]:
    user = request.scope.get("user")
    return {
        **_catalog(),
        "form": form,
        "errors": errors,
        "signed_in": user if isinstance(user, ApexUser) else None,
        "base_domain": request.app.state.settings.base_domain,
        "billing": request.app.state.settings.billing_enabled,
        "min_password": MIN_LENGTH,
    }


@get("/signup", name="signup_form")
async def signup_form(request: Req, plan: FromQuery[str] = "growth", interval: FromQuery[str] = "month") -> Template:
    form = billing.SignupForm(plan=plan if plan in PLANS else "growth", interval=_interval(interval).value)
    return Template(template_name="public/signup.html", context=_signup_page(request, form, {}))


@get("/signup/slug", name="signup_slug_check")
async def signup_slug_check(request: Req, slug: FromQuery[str] = "") -> Template:
    """The live check under the address field (htmx, as the person types)."""
    slug = slug.strip().lower()
    async with request.app.state.db.transaction(NO_CONTEXT) as session:
        problem = await billing.check_slug(session, slug) if slug else None
    context = {"slug": slug, "problem": problem, "base_domain": request.app.state.settings.base_domain}
    return Template(template_name="public/_slug_check.html", context=context)


def _origin(request: Req) -> str:
    """The apex as the browser reached it (in production always https on the base domain)."""
    settings = request.app.state.settings
    if settings.production:
        return f"https://{settings.base_domain}"
    return f"{request.url.scheme}://{request.headers.get('host', settings.base_domain)}"


async def _to_checkout(request: Req, tenant_id: UUID) -> Response[Any]:
    ready = f"{_origin(request)}/signup/{tenant_id}/ready"
    try:
        url = await billing.checkout_url(
            request.app.state.db,
            request.app.state.settings,
            tenant_id,
            success_url=ready + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=ready + "?cancelled=1",
        )
    except stripe.StripeError as error:
        # the workspace waits in `pending`; its page offers the payment step again
        billing.log.error("Checkout for tenant %s failed: %s", tenant_id, error)
        return Redirect(path=f"/signup/{tenant_id}/ready?failed=1")
    return Redirect(path=url)


@post("/signup", name="signup")
async def signup(request: Req) -> Response[Any]:
    state = request.app.state
    form = bind(billing.SignupForm, await request.form())
    form.slug = form.slug.lower()
    user = request.scope.get("user")
    tenant_id = new_id()
    cookies = []
    async with state.db.transaction(TenantContext.system(tenant_id)) as session:
        identity = await session.get(Identity, user.identity_id) if isinstance(user, ApexUser) else None
        origin = tenant_origin(state.settings, form.slug, scheme=request.url.scheme, host=request.headers.get("host"))
        try:
            signed_up = await billing.sign_up(session, form, identity=identity, settings=state.settings, origin=origin)
        except InvalidForm as rejected:
            form.password = ""
            raise FormRejected("public/signup.html", _signup_page(request, form, rejected.errors)) from rejected
        if identity is None:
            # the new owner is logged in on the apex, to follow the workspace being set up
            new = await auth.start_apex_session(
                session, signed_up.identity, days=state.settings.session_days, replacing=None
            )
            cookies.append(session_cookie(request, new))
    response = await _to_checkout(request, tenant_id) if state.settings.billing_enabled else None
    response = response or Redirect(path=f"/signup/{tenant_id}/ready")
    for cookie in cookies:
        response.set_cookie(cookie)
    return response


async def _owned_tenant(request: Req, tenant_id: UUID) -> Tenant:
    """The workspace, if the apex user is its owner; 404 for anyone else, as for a missing one."""
    user: ApexUser = request.scope["user"]
    async with request.app.state.db.transaction(TenantContext.system(tenant_id)) as session:
        owner = await session.scalar(
            select(Membership.id).where(
                Membership.tenant_id == tenant_id,
                Membership.identity_id == user.identity_id,
                Membership.kind == MembershipKind.STAFF,
                Membership.active.is_(True),
                any_(Membership.roles) == StaffRole.OWNER.value,
            )
        )
        tenant: Tenant | None = await session.get(Tenant, tenant_id) if owner else None
    if tenant is None:
        raise NotFoundException()
    return tenant


@get("/signup/{tenant_id:uuid}/ready", guards=[apex_user], name="signup_ready")
async def signup_ready(
    request: Req, tenant_id: FromPath[UUID], cancelled: FromQuery[str] = "", failed: FromQuery[str] = ""
) -> Response[Any]:
    """ "Setting up your workspace" until the webhook has activated it (the page polls itself),
    then straight into the staff app."""
    tenant = await _owned_tenant(request, tenant_id)
    if tenant.status == TenantStatus.ACTIVE:
        enter = f"/signup/{tenant_id}/enter"
        if request.headers.get("hx-request"):
            return Response(content="", headers={"HX-Redirect": enter})
        return Redirect(path=enter)
    context = {"workspace": tenant, "cancelled": bool(cancelled), "failed": bool(failed)}
    return Template(template_name="public/signup_ready.html", context=context)


@get("/signup/{tenant_id:uuid}/enter", guards=[apex_user], name="signup_enter")
async def signup_enter(request: Req, tenant_id: FromPath[UUID]) -> Response[Any]:
    tenant = await _owned_tenant(request, tenant_id)
    if tenant.status != TenantStatus.ACTIVE:
        return Redirect(path=f"/signup/{tenant_id}/ready")
    request.app.state.directory.forget(tenant.slug)  # it may have been looked up while pending
    user: ApexUser = request.scope["user"]
    return await ticket_redirect(request, tenant.slug, user.identity_id)


@post("/signup/{tenant_id:uuid}/checkout", guards=[apex_user], name="signup_checkout")
async def signup_checkout(request: Req, tenant_id: FromPath[UUID]) -> Response[Any]:
    """Back to Stripe Checkout for a workspace still waiting for its subscription."""
    tenant = await _owned_tenant(request, tenant_id)
    if tenant.status != TenantStatus.PENDING or not request.app.state.settings.billing_enabled:
        return Redirect(path=f"/signup/{tenant_id}/ready")
    return await _to_checkout(request, tenant_id)


SIGNUP_ROUTES = [pricing, signup_form, signup_slug_check, signup, signup_ready, signup_enter, signup_checkout]
