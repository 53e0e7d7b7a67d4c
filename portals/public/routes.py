"""Login, logout, workspace chooser, tickets and the language switch, for both kinds of host."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from backend.audit.service import Actor, record
from backend.auth import service
from backend.auth.middleware import SESSION_COOKIE, tenant_of
from backend.auth.principal import ApexUser, Principal
from backend.auth.tasks import tenant_origin
from backend.authz.guards import apex_user
from backend.billing.guards import AUTH
from backend.kit.i18n import LOCALES
from backend.kit.i18n import gettext as _
from backend.models import Identity, MembershipKind
from portals.public.account import ACCOUNT_ROUTES
from portals.shared.navigation import home_of
from portals.shared.session_cookies import (
    cleared_session_cookie,
    locale_cookie,
    safe_next,
    session_cookie,
    start_session,
)
from tenants.context import NO_CONTEXT, TenantContext

Req = Request[Any, Any, Any]


def _login_page(
    request: Req, *, email: str = "", next_path: str = "", message: str = "", status: int = 200
) -> Template:
    tenant = tenant_of(request.scope)
    return Template(
        template_name="public/login.html",
        context={"email": email, "next": next_path, "message": message, "tenant_name": tenant.name if tenant else None},
        status_code=status,
    )


def _refused(request: Req, refusal: service.LoginRefused, email: str, next_path: str) -> Template:
    if refusal.throttled:
        message = _("Too many failed attempts for this e-mail. Please wait an hour and try again.")
        return _login_page(
            request, email=email, next_path=next_path, message=message, status=HTTP_429_TOO_MANY_REQUESTS
        )
    message = _("The e-mail or password is wrong.")
    return _login_page(request, email=email, next_path=next_path, message=message, status=HTTP_400_BAD_REQUEST)


@get("/login", name="login_form")
async def login_form(request: Req, next: FromQuery[str] = "") -> Response[Any]:  # noqa: A002  (the query parameter's name)
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return Redirect(path=home_of(user))
    if isinstance(user, ApexUser):
        return Redirect(path="/workspaces")
    return _login_page(request, next_path=next)


@post("/login", name="login", opt=AUTH)
async def login(request: Req) -> Response[Any]:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    state = request.app.state
    tenant = tenant_of(request.scope)
    replacing = request.cookies.get(SESSION_COOKIE)
    max_failures = state.settings.login_max_failures_per_hour
    if tenant is None:
        async with state.db.transaction(NO_CONTEXT) as session:
            try:
                identity = await service.check_credentials(session, email, password, max_failures=max_failures)
            except service.LoginRefused as refusal:
                return _refused(request, refusal, email, next_path)
            new = await service.start_apex_session(
                session, identity, days=state.settings.session_days, replacing=replacing
            )
        return Redirect(path=safe_next(next_path, "/workspaces"), cookies=[session_cookie(request, new)])
    async with state.db.transaction(TenantContext.system(tenant.id)) as session:
        try:
            principal = await service.authenticate_member(
                session, tenant.id, email, password, max_failures=max_failures
            )
        except service.LoginRefused as refusal:
            return _refused(request, refusal, email, next_path)
        cookie = await start_session(request, session, principal)
        await record(session, "auth.login", "membership", principal.membership_id, actor=Actor.of(principal))
    return Redirect(path=safe_next(next_path, home_of(principal)), cookies=[cookie])


@post("/logout", name="logout", opt=AUTH)
async def logout(request: Req) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    state = request.app.state
    tenant = tenant_of(request.scope)
    if token:
        if tenant is None:
            async with state.db.transaction(NO_CONTEXT) as session:
                await service.end_apex_session(session, token)
        else:
            async with state.db.transaction(TenantContext.system(tenant.id)) as session:
                await service.end_session(session, token)
                if isinstance(user := request.scope.get("user"), Principal):
                    await record(session, "auth.logout", "membership", user.membership_id, actor=Actor.of(user))
    return Redirect(path="/login", cookies=[cleared_session_cookie()])


@post("/lang", name="set_language", opt=AUTH)
async def set_language(request: Req) -> Response[Any]:
    form = await request.form()
    locale = str(form.get("locale", ""))
    if locale not in LOCALES:
        raise NotFoundException()
    return Redirect(path=safe_next(str(form.get("next", "")), "/"), cookies=[locale_cookie(locale)])


# --- apex only ----------------------------------------------------------------------------


@get("/", name="landing")
async def landing() -> Template:
    return Template(template_name="public/landing.html")


@get("/workspaces", guards=[apex_user], name="workspaces")
async def workspaces(request: Req) -> Template:
    user: ApexUser = request.scope["user"]
    # no tenant, only this identity: RLS shows its own memberships in every tenant, nothing else
    context = TenantContext.system(None, identity_id=user.identity_id)
    async with request.app.state.db.transaction(context) as session:
        found = await service.workspaces(session)
    kind_labels = {
        MembershipKind.STAFF: _("Staff"),
        MembershipKind.SUPPLIER: _("Supplier"),
        MembershipKind.CUSTOMER: _("Customer"),
    }
    return Template(template_name="public/workspaces.html", context={"workspaces": found, "kind_labels": kind_labels})


@post("/workspaces/{slug:str}", guards=[apex_user], name="enter_workspace")
async def enter_workspace(request: Req, slug: FromPath[str]) -> Response[Any]:
    user: ApexUser = request.scope["user"]
    return await ticket_redirect(request, slug.lower(), user.identity_id)


async def ticket_redirect(request: Req, slug: str, identity_id: UUID) -> Response[Any]:
    """Issue a one-time ticket and send the browser to the workspace's own host to redeem it."""
    state = request.app.state
    tenant = await state.directory.find(slug)
    if tenant is None:
        raise NotFoundException()
    async with state.db.transaction(TenantContext.system(tenant.id)) as session:
        identity = await session.get(Identity, identity_id)
        principal = await service.membership_principal(session, tenant.id, identity) if identity else None
        if principal is None:
            raise NotFoundException()
        ticket = await service.issue_ticket(session, principal)
    origin = tenant_origin(state.settings, tenant.slug, scheme=request.url.scheme, host=request.headers.get("host"))
    return Redirect(path=f"{origin}/auth/ticket?token={ticket}")


# --- tenant host only -----------------------------------------------------------------------


@get("/auth/ticket", name="redeem_ticket")
async def redeem_ticket(request: Req, token: FromQuery[str] = "") -> Response[Any]:
    tenant = tenant_of(request.scope)
    if tenant is None:
        raise NotFoundException()
    state = request.app.state
    async with state.db.transaction(TenantContext.system(tenant.id)) as session:
        principal = await service.redeem_ticket(session, token) if token else None
        if principal is None:
            return _login_page(
                request, message=_("That sign-in link has expired. Please log in."), status=HTTP_400_BAD_REQUEST
            )
        cookie = await start_session(request, session, principal)
        await record(session, "auth.ticket_login", "membership", principal.membership_id, actor=Actor.of(principal))
    return Redirect(path=home_of(principal), cookies=[cookie])


SHARED_ROUTES = [login_form, login, logout, set_language]
APEX_ROUTES = [*SHARED_ROUTES, landing, workspaces, enter_workspace]
TENANT_PUBLIC_ROUTES = [*SHARED_ROUTES, redeem_ticket, *ACCOUNT_ROUTES]
