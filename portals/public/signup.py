"""Pricing and signup on the apex host: a company picks a plan, creates its workspace and owner,
confirms the owner's e-mail address through the link sent to it (choosing a password if it has no
Merkato login), pays through Stripe Checkout and lands in its staff app once Stripe has confirmed.
Someone logged in on the apex skips the link: their address is proved already.

Without Stripe (self-hosted) the workspace is active on the default plan at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import stripe
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.auth import links
from backend.auth import service as auth
from backend.auth.middleware import SESSION_COOKIE
from backend.auth.origins import origin_of
from backend.auth.passwords import MIN_LENGTH
from backend.auth.steps import elevated_step
from backend.authz.guards import apex_user
from backend.authz.principal import ApexUser, Principal
from backend.billing import service as billing
from backend.dependencies import ApexIdentity, Visitor
from backend.kit.forms import bind
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.models import Identity, Tenant, TenantStatus
from backend.signup import service as signups
from portals.public.account import link_step, through_link
from portals.shared.forms import form_page
from portals.shared.session_cookies import session_cookie
from tenants.billing.plans import PLANS, Interval, Limit, Module
from tenants.context import NO_CONTEXT

Req = Request[Any, Any, Any]
CONFIRM = "public/signup_confirm.html"


def _interval(value: str) -> Interval:
    return Interval(value) if value in Interval.__members__.values() else Interval.MONTH


def _catalog() -> dict[str, Any]:
    return {
        "plans": list(PLANS.values()),
        "limits": list(Limit),
        "modules": list(Module),
    }


@get("/pricing", name="pricing")
async def pricing(request: Req, interval: FromQuery[str] = "month") -> Template:
    context = {**_catalog(), "interval": _interval(interval), "billing": request.app.state.settings.billing_enabled}
    return Template(template_name="public/pricing.html", context=context)


def _signup_page(
    request: Req, visitor: Principal | ApexUser | None, form: signups.SignupForm, errors: Mapping[str, str]
) -> dict[str, Any]:
    return {
        **_catalog(),
        "form": form,
        "errors": errors,
        "signed_in": visitor if isinstance(visitor, ApexUser) else None,
        "base_domain": request.app.state.settings.base_domain,
        "billing": request.app.state.settings.billing_enabled,
    }


@get("/signup", name="signup_form")
async def signup_form(
    request: Req, visitor: Visitor, plan: FromQuery[str] = "growth", interval: FromQuery[str] = "month"
) -> Template:
    form = signups.SignupForm(plan=plan if plan in PLANS else "growth", interval=_interval(interval).value)
    return Template(template_name="public/signup.html", context=_signup_page(request, visitor, form, {}))


@get("/signup/slug", name="signup_slug_check")
async def signup_slug_check(request: Req, slug: FromQuery[str] = "") -> Template:
    """The live check under the address field (htmx, as the person types)."""
    slug = slug.strip().lower()
    async with request.app.state.db.transaction(NO_CONTEXT) as session:
        problem = await signups.check_slug(session, slug) if slug else None
    context = {"slug": slug, "problem": problem, "base_domain": request.app.state.settings.base_domain}
    return Template(template_name="public/_slug_check.html", context=context)


async def _to_checkout(request: Req, tenant_id: UUID) -> Response[Any]:
    ready = f"{origin_of(request, None)}/signup/{tenant_id}/ready"
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
async def signup(request: Req, visitor: Visitor) -> Response[Any]:
    state = request.app.state
    form = bind(signups.SignupForm, await request.form())
    form.slug = form.slug.lower()
    tenant_id = new_id()
    # the new tenant's context, acting for the apex user if one signs up (RLS shows them their own identity)
    acting = visitor.identity_id if isinstance(visitor, ApexUser) else None
    async with elevated_step(state.db, tenant_id, acting_for=acting) as session:
        identity = await session.get(Identity, acting) if acting else None
        async with form_page(
            "public/signup.html", lambda refused: _signup_page(request, visitor, form, refused.errors)
        ):
            await signups.sign_up(session, form, identity=identity, settings=state.settings)
    if identity is None:
        # the same answer whether the address has a Merkato login or not: the e-mail says which
        return Template(
            template_name="public/account_message.html",
            context={
                "heading": _("Check your e-mail"),
                "message": _(
                    "We have sent a message to %(email)s. Open the link in it to confirm the address and set up "
                    "%(company)s (the link works once, for two days)."
                )
                % {"email": form.email.strip().lower(), "company": form.company},
            },
        )
    return await _continue(request, tenant_id)


async def _continue(request: Req, tenant_id: UUID) -> Response[Any]:
    """On to payment (billing on) or straight to the workspace being set up."""
    if request.app.state.settings.billing_enabled:
        return await _to_checkout(request, tenant_id)
    return Redirect(path=f"/signup/{tenant_id}/ready")


def _confirm_page(holder: links.LinkHolder, token: str, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"holder": holder, "token": token, "errors": errors or {}, "min_length": MIN_LENGTH}


@get("/signup/confirm", name="signup_confirm_form")
async def signup_confirm_form(request: Req, token: FromQuery[str] = "") -> Template:
    """The page the signup e-mail's link opens: a password to choose for an owner who has no
    Merkato login yet; one who has logs in (their password, not the link, opens their login)."""
    async with link_step(request, None, "login") as session:
        holder = await links.inspect(session, token, signups.SIGNUP_LINKS, workspace_id=None)
    return Template(template_name=CONFIRM, context=_confirm_page(holder, token))


@post("/signup/confirm", name="signup_confirm")
async def signup_confirm(request: Req) -> Response[Any]:
    state = request.app.state
    # not bound through kit.forms.bind: that strips fields, and a password's spaces are its own
    data = await request.form()
    token, password, confirm = (str(data.get(name, "")) for name in ("token", "password", "confirm"))

    def again(holder: links.LinkHolder, errors: Mapping[str, str]) -> dict[str, Any]:
        return _confirm_page(holder, token, errors)

    async with through_link(
        request, None, token, signups.SIGNUP_LINKS, template=CONFIRM, context_of=again, offer="login"
    ) as session:
        owner, tenant_id = await signups.confirm_owner(session, token, password=password, confirm=confirm)
        new = await auth.start_apex_session(
            session, owner, days=state.settings.session_days, replacing=request.cookies.get(SESSION_COOKIE)
        )
    # on to payment once the owner's login is committed: the checkout opens transactions of its own
    response = await _continue(request, tenant_id)
    response.set_cookie(session_cookie(request, new))
    return response


async def _owned_tenant(request: Req, owner: ApexUser, tenant_id: UUID) -> Tenant:
    """The workspace, if the apex user is its owner; 404 for anyone else, as for a missing one."""
    async with elevated_step(request.app.state.db, tenant_id) as session:
        tenant = await signups.owned_workspace(session, tenant_id, owner.identity_id)
    if tenant is None:
        raise NotFoundException()
    return tenant


@get("/signup/{tenant_id:uuid}/ready", guards=[apex_user], name="signup_ready")
async def signup_ready(
    request: Req,
    apex_identity: ApexIdentity,
    tenant_id: FromPath[UUID],
    cancelled: FromQuery[str] = "",
    failed: FromQuery[str] = "",
) -> Response[Any]:
    """ "Setting up your workspace" until the webhook has activated it (the page polls itself),
    then straight into the staff app."""
    tenant = await _owned_tenant(request, apex_identity, tenant_id)
    if tenant.status == TenantStatus.ACTIVE:
        enter = f"/signup/{tenant_id}/enter"
        if request.headers.get("hx-request"):
            return Response(content="", headers={"HX-Redirect": enter})
        return Redirect(path=enter)
    context = {"workspace": tenant, "cancelled": bool(cancelled), "failed": bool(failed)}
    return Template(template_name="public/signup_ready.html", context=context)


@get("/signup/{tenant_id:uuid}/enter", guards=[apex_user], name="signup_enter")
async def signup_enter(request: Req, apex_identity: ApexIdentity, tenant_id: FromPath[UUID]) -> Response[Any]:
    tenant = await _owned_tenant(request, apex_identity, tenant_id)
    if tenant.status != TenantStatus.ACTIVE:
        return Redirect(path=f"/signup/{tenant_id}/ready")
    request.app.state.directory.forget(tenant.slug)  # it may have been looked up while pending
    return Redirect(path=f"{origin_of(request, tenant.slug)}/auth/enter")


@post("/signup/{tenant_id:uuid}/checkout", guards=[apex_user], name="signup_checkout")
async def signup_checkout(request: Req, apex_identity: ApexIdentity, tenant_id: FromPath[UUID]) -> Response[Any]:
    """Back to Stripe Checkout for a workspace still waiting for its subscription."""
    tenant = await _owned_tenant(request, apex_identity, tenant_id)
    if tenant.status != TenantStatus.PENDING or not request.app.state.settings.billing_enabled:
        return Redirect(path=f"/signup/{tenant_id}/ready")
    return await _to_checkout(request, tenant_id)


SIGNUP_ROUTES = [
    pricing,
    signup_form,
    signup_slug_check,
    signup,
    signup_confirm_form,
    signup_confirm,
    signup_ready,
    signup_enter,
    signup_checkout,
]
