"""Account pages reached from e-mails, on a tenant host and on the apex: choose a password
(invitation or reset), ask for a reset, finish a login that was shielded by an unlock link.

Nobody is logged in here, so each page runs a named step of backend/auth in a system transaction
for the host's tenant (or, on the apex, for no tenant), in which RLS shows only the link presented
and the one address it is for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST

from backend.audit.service import Actor, record
from backend.auth import links, service
from backend.auth.links import PASSWORD_PURPOSES, LinkHolder, LinkRefused
from backend.auth.middleware import SESSION_COOKIE
from backend.auth.passwords import MIN_LENGTH
from backend.auth.steps import elevated_step
from backend.authz.workspace import AUTH
from backend.dependencies import Db, HostTenant
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import Identity, LinkPurpose
from portals.shared.forms import FormRejected
from portals.shared.navigation import home_of
from portals.shared.session_cookies import session_cookie, start_session
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
MESSAGE = "public/account_message.html"
SET_PASSWORD = "public/set_password.html"
UNLOCK_LINKS = (LinkPurpose.UNLOCK.value,)


def _workspace(tenant: TenantInfo | None) -> UUID | None:
    """The host's tenant (None on the apex): where a link must lead to be usable here."""
    return tenant.id if tenant else None


def _refused_context(refusal: LinkRefused, offer: str) -> dict[str, Any]:
    return {"heading": _("This link cannot be used"), "message": refusal.problem.message(), f"offer_{offer}": True}


@asynccontextmanager
async def link_step(request: Req, workspace: UUID | None, offer: str = "reset") -> AsyncIterator[Db]:
    """An elevated step of the host's tenant (None: the apex) that looks at or uses an e-mailed
    link: a link that cannot be used says why (400) and where to go instead (`offer`: reset,
    register or login: a fresh link, the registration's start, the login page)."""
    try:
        async with elevated_step(request.app.state.db, workspace) as session:
            yield session
    except LinkRefused as refusal:
        raise FormRejected(MESSAGE, _refused_context(refusal, offer), HTTP_400_BAD_REQUEST) from refusal


@asynccontextmanager
async def through_link(
    request: Req,
    workspace: UUID | None,
    token: str,
    purposes: tuple[str, ...],
    *,
    template: str,
    context_of: Callable[[LinkHolder, Mapping[str, str]], dict[str, Any]],
    offer: str = "reset",
) -> AsyncIterator[Db]:
    """The step a form reached through an e-mailed link takes (choosing a password, say), as a
    `link_step`: a refused form shows `template` again (400) with `context_of` a fresh look at
    the link and the field messages. Nothing of a refused step is kept."""
    try:
        async with link_step(request, workspace, offer) as session:
            yield session
    except InvalidForm as rejected:
        async with link_step(request, workspace, offer) as session:  # it may have expired meanwhile
            holder = await links.inspect(session, token, purposes, workspace_id=workspace)
        raise FormRejected(template, context_of(holder, rejected.errors), rejected.status_code) from rejected


async def _log_in(
    request: Req, workspace: UUID | None, session: Any, identity: Identity, action: str, via: str
) -> Response[Any]:
    """Log this browser in as `identity` where the link led: the workspace (if they are an active
    member of it; else they are told their password is saved) or the apex."""
    state = request.app.state
    if workspace is None:
        new = await service.start_apex_session(
            session, identity, days=state.settings.session_days, replacing=request.cookies.get(SESSION_COOKIE)
        )
        return Redirect(path="/workspaces", cookies=[session_cookie(request, new)], status_code=HTTP_303_SEE_OTHER)
    principal = await service.membership_principal(session, workspace, identity)
    if principal is None:  # a supplier's registrant waiting for approval, say
        return Template(
            template_name=MESSAGE,
            context={
                "heading": _("Password saved"),
                "message": _("Your password is saved. You can log in once you have access to this workspace."),
                "offer_register": True,
            },
        )
    cookie = await start_session(request, session, principal)
    await record(session, action, "membership", principal.membership_id, after={"via": via}, actor=Actor.of(principal))
    return Redirect(path=home_of(principal), cookies=[cookie], status_code=HTTP_303_SEE_OTHER)


# --- choosing a password (invitation or reset) ------------------------------------------------


def _password_page(holder: LinkHolder, token: str, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "holder": holder,
        "invited": holder.purpose == LinkPurpose.INVITATION,
        "token": token,
        "errors": errors or {},
        "min_length": MIN_LENGTH,
    }


@get("/account/set-password", name="set_password_form")
async def set_password_form(request: Req, tenant: HostTenant, token: FromQuery[str] = "") -> Template:
    """Looking does not use the link up: only choosing the password does."""
    workspace = _workspace(tenant)
    async with link_step(request, workspace) as session:
        holder = await links.inspect(session, token, PASSWORD_PURPOSES, workspace_id=workspace)
    return Template(template_name=SET_PASSWORD, context=_password_page(holder, token))


@post("/account/set-password", name="set_password", opt=AUTH)
async def set_password(request: Req, tenant: HostTenant) -> Response[Any]:
    # not bound through kit.forms.bind: that strips fields, and a password's spaces are its own
    form = await request.form()
    token, password, confirm = (str(form.get(name, "")) for name in ("token", "password", "confirm"))
    workspace = _workspace(tenant)

    def again(holder: LinkHolder, errors: Mapping[str, str]) -> dict[str, Any]:
        return _password_page(holder, token, errors)

    async with through_link(
        request, workspace, token, PASSWORD_PURPOSES, template=SET_PASSWORD, context_of=again
    ) as session:
        identity = await links.choose_password(session, token, password, confirm, workspace_id=workspace)
        return await _log_in(request, workspace, session, identity, "auth.password_set", "link")


# --- asking for a reset -----------------------------------------------------------------------


@get("/account/forgot-password", name="forgot_password_form")
async def forgot_password_form(email: FromQuery[str] = "") -> Template:
    return Template(template_name="public/forgot_password.html", context={"email": email, "errors": {}})


@post("/account/forgot-password", name="forgot_password", opt=AUTH)
async def forgot_password(request: Req, tenant: HostTenant) -> Template:
    """The same answer whether or not the address belongs to anyone: the page must not tell a
    stranger who uses Merkato, or who works with this company. The job decides what to send."""
    email = str((await request.form()).get("email", "")).strip()
    errors = FieldErrors()
    errors.email("email", email)
    if errors:
        return Template(
            template_name="public/forgot_password.html",
            context={"email": email, "errors": errors},
            status_code=HTTP_400_BAD_REQUEST,
        )
    db, workspace = request.app.state.db, _workspace(tenant)
    if workspace is None:
        await links.ask_on_apex(db, LinkPurpose.PASSWORD_RESET, email)
    else:
        async with elevated_step(db, workspace) as session:
            await links.ask(session, LinkPurpose.PASSWORD_RESET, email, workspace_id=workspace)
    return Template(
        template_name=MESSAGE,
        context={
            "heading": _("Check your e-mail"),
            "message": _(
                "If %(email)s belongs to a login here, we have sent a link to it. The link works once, for one hour."
            )
            % {"email": email},
            "offer_login": True,
        },
    )


# --- finishing a shielded login ---------------------------------------------------------------


@get("/account/unlock", name="unlock_form")
async def unlock_form(request: Req, tenant: HostTenant, token: FromQuery[str] = "") -> Template:
    """A GET does not log in (mail scanners open links): the page asks for one click."""
    workspace = _workspace(tenant)
    async with link_step(request, workspace) as session:
        holder = await links.inspect(session, token, UNLOCK_LINKS, workspace_id=workspace)
    return Template(template_name="public/unlock.html", context={"holder": holder, "token": token})


@post("/account/unlock", name="unlock", opt=AUTH)
async def unlock(request: Req, tenant: HostTenant) -> Response[Any]:
    token = str((await request.form()).get("token", ""))
    workspace = _workspace(tenant)
    async with link_step(request, workspace) as session:
        holder = await links.use(session, token, UNLOCK_LINKS, workspace_id=workspace)
        if holder.identity is None:
            raise LinkRefused(links.LinkProblem.UNKNOWN)
        return await _log_in(request, workspace, session, holder.identity, "auth.login", "unlock link")


ACCOUNT_ROUTES = [set_password_form, set_password, forgot_password_form, forgot_password, unlock_form, unlock]
