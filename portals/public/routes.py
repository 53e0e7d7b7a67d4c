"""Login, logout, workspace chooser, tickets and the language switch, for both kinds of host.

Moving from the apex into a workspace takes a one-time ticket bound to the browser that asked for
it: the workspace host first sets a binding cookie of its own (/auth/enter), the apex issues a
ticket for the hash of that cookie, and the workspace host redeems it only with the cookie. A
ticket pushed into someone else's browser (login CSRF) logs nobody in.
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from backend.audit.service import Actor, record
from backend.auth import links, service
from backend.auth.middleware import SESSION_COOKIE
from backend.auth.origins import client_address, origin_of
from backend.auth.service import LoginRefused, Refusal, refusal_message
from backend.auth.steps import elevated_step
from backend.auth.tokens import digest
from backend.authz.guards import apex_user
from backend.authz.principal import ApexUser, Principal
from backend.authz.workspace import AUTH
from backend.dependencies import ApexIdentity, HostTenant, Visitor, Workspace
from backend.kit.i18n import LOCALES
from backend.kit.i18n import gettext as _
from backend.models import Identity, LinkPurpose, MembershipKind
from portals.public.account import ACCOUNT_ROUTES
from portals.shared.navigation import home_of
from portals.shared.session_cookies import (
    cleared_session_cookie,
    locale_cookie,
    safe_next,
    session_cookie,
    start_session,
)
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
BINDING_COOKIE = "merkato_ticket_binding"
BINDING_SECONDS = 300


def _login_page(
    tenant: TenantInfo | None, *, email: str = "", next_path: str = "", message: str = "", status: int = 200
) -> Template:
    return Template(
        template_name="public/login.html",
        context={"email": email, "next": next_path, "message": message, "tenant_name": tenant.name if tenant else None},
        status_code=status,
    )


def _refused(tenant: TenantInfo | None, refusal: LoginRefused, email: str, next_path: str) -> Template:
    status = HTTP_400_BAD_REQUEST if refusal.reason == Refusal.WRONG else HTTP_429_TOO_MANY_REQUESTS
    page = _login_page(tenant, email=email, next_path=next_path, message=refusal_message(refusal), status=status)
    if refusal.retry_after:
        page.headers["Retry-After"] = str(refusal.retry_after)
    return page


@get("/login", name="login_form")
async def login_form(visitor: Visitor, tenant: HostTenant, next: FromQuery[str] = "") -> Response[Any]:  # noqa: A002  (the query parameter's name)
    if isinstance(visitor, Principal):
        return Redirect(path=home_of(visitor))
    if isinstance(visitor, ApexUser):
        return Redirect(path="/workspaces")
    return _login_page(tenant, next_path=next)


@post("/login", name="login", opt=AUTH)
async def login(request: Req, tenant: HostTenant) -> Response[Any]:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    state = request.app.state
    replacing = request.cookies.get(SESSION_COOKIE)
    max_failures = state.settings.login_max_failures_per_hour
    client = client_address(request)
    if tenant is None:
        refused = None
        async with elevated_step(state.db, None) as session:
            try:
                identity = await service.check_credentials(
                    session, email, password, client=client, max_failures=max_failures
                )
            except LoginRefused as refusal:
                refused = refusal  # handled after the block, so the recorded failure is committed
            else:
                new = await service.start_apex_session(
                    session, identity, days=state.settings.session_days, replacing=replacing
                )
        if refused is not None:
            if refused.shielded_identity is not None:
                await links.ask_on_apex(state.db, LinkPurpose.UNLOCK, email)
            return _refused(tenant, refused, email, next_path)
        return Redirect(path=safe_next(next_path, "/workspaces"), cookies=[session_cookie(request, new)])
    async with elevated_step(state.db, tenant.id) as session:
        try:
            principal = await service.authenticate_member(
                session, tenant.id, email, password, client=client, max_failures=max_failures
            )
        except LoginRefused as refusal:
            if refusal.shielded_identity is not None:
                await links.ask(session, LinkPurpose.UNLOCK, email, workspace_id=tenant.id)
            return _refused(tenant, refusal, email, next_path)
        cookie = await start_session(request, session, principal)
        await record(session, "auth.login", "membership", principal.membership_id, actor=Actor.of(principal))
    return Redirect(path=safe_next(next_path, home_of(principal)), cookies=[cookie])


@post("/logout", name="logout", opt=AUTH)
async def logout(request: Req, visitor: Visitor, tenant: HostTenant) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    state = request.app.state
    if token:
        async with elevated_step(state.db, tenant.id if tenant else None) as session:
            if tenant is None:
                await service.end_apex_session(session, token)
            else:
                await service.end_session(session, token)
                if isinstance(visitor, Principal):
                    await record(session, "auth.logout", "membership", visitor.membership_id, actor=Actor.of(visitor))
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
async def workspaces(request: Req, apex_identity: ApexIdentity) -> Template:
    # no tenant, only this identity: RLS shows its own memberships in every tenant, nothing else
    async with elevated_step(request.app.state.db, None, acting_for=apex_identity.identity_id) as session:
        found = await service.workspaces(session)
    kind_labels = {
        MembershipKind.STAFF: _("Staff"),
        MembershipKind.SUPPLIER: _("Supplier"),
        MembershipKind.CUSTOMER: _("Customer"),
    }
    entries = {w.slug: origin_of(request, w.slug) + "/auth/enter" for w in found}
    return Template(
        template_name="public/workspaces.html",
        context={"workspaces": found, "kind_labels": kind_labels, "entries": entries},
    )


@get("/workspaces/{slug:str}/ticket", guards=[apex_user], name="workspace_ticket")
async def workspace_ticket(
    request: Req, apex_identity: ApexIdentity, slug: FromPath[str], binding: FromQuery[str] = ""
) -> Response[Any]:
    """Step 2 of entering a workspace: a ticket for the browser whose binding cookie hashes to
    `binding` (the workspace host set it in step 1 and sent the browser here)."""
    try:
        binding_hash = bytes.fromhex(binding)
    except ValueError:
        binding_hash = b""
    if len(binding_hash) != 32:
        raise NotFoundException()
    return await ticket_redirect(request, slug.lower(), apex_identity.identity_id, binding_hash)


async def ticket_redirect(request: Req, slug: str, identity_id: UUID, binding_hash: bytes) -> Response[Any]:
    """Issue a one-time ticket bound to the browser's binding and send it back to the workspace's
    own host to redeem it; 404 for a workspace the identity is no active member of."""
    state = request.app.state
    tenant = await state.directory.find(slug)
    if tenant is None:
        raise NotFoundException()
    async with elevated_step(state.db, tenant.id) as session:
        identity = await session.get(Identity, identity_id)
        principal = await service.membership_principal(session, tenant.id, identity) if identity else None
        if principal is None:
            raise NotFoundException()
        ticket = await service.issue_ticket(session, principal, binding_hash)
    return Redirect(path=f"{origin_of(request, tenant.slug)}/auth/ticket?token={ticket}")


# --- tenant host only -----------------------------------------------------------------------


@get("/auth/enter", name="enter_workspace")
async def enter_workspace(request: Req, workspace: Workspace) -> Response[Any]:
    """Step 1 of entering from the apex: this host's binding cookie, then to the apex for a
    ticket bound to it."""
    settings = request.app.state.settings
    binding = secrets.token_urlsafe(32)
    cookie = Cookie(
        key=BINDING_COOKIE,
        value=binding,
        max_age=BINDING_SECONDS,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=settings.production,
    )
    apex = origin_of(request, None)
    return Redirect(path=f"{apex}/workspaces/{workspace.slug}/ticket?binding={digest(binding).hex()}", cookies=[cookie])


@get("/auth/ticket", name="redeem_ticket")
async def redeem_ticket(request: Req, workspace: Workspace, token: FromQuery[str] = "") -> Response[Any]:
    state = request.app.state
    forget = Cookie(key=BINDING_COOKIE, value="", max_age=0, path="/auth", httponly=True, samesite="lax")
    async with elevated_step(state.db, workspace.id) as session:
        principal = await service.redeem_ticket(session, token, request.cookies.get(BINDING_COOKIE, ""))
        if principal is None:
            page = _login_page(
                workspace, message=_("That sign-in link has expired. Please log in."), status=HTTP_400_BAD_REQUEST
            )
            page.cookies.append(forget)
            return page
        cookie = await start_session(request, session, principal)
        await record(session, "auth.ticket_login", "membership", principal.membership_id, actor=Actor.of(principal))
    return Redirect(path=home_of(principal), cookies=[cookie, forget])


SHARED_ROUTES = [login_form, login, logout, set_language, *ACCOUNT_ROUTES]
APEX_ROUTES = [*SHARED_ROUTES, landing, workspaces, workspace_ticket]
TENANT_PUBLIC_ROUTES = [*SHARED_ROUTES, enter_workspace, redeem_ticket]
