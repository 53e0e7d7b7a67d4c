"""Account pages on a tenant host, reached from e-mails: choose a password (invitation or reset),
ask for a reset, confirm an e-mail address.

Nobody is logged in here, so each page opens its own system transaction for the tenant (one-time
links live in account_tokens, which admits only system code) instead of the request's.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST

from backend.auth import account_links
from backend.auth.account_links import PASSWORD_PURPOSES, LinkHolder, LinkRefused
from backend.auth.middleware import tenant_of
from backend.auth.passwords import MIN_LENGTH
from backend.billing.guards import AUTH
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import TokenPurpose
from portals.shared.links import link_origin
from portals.shared.navigation import home_of
from portals.shared.session_cookies import start_session
from tenants.context import TenantContext
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]


def _tenant(request: Req) -> TenantInfo:
    tenant = tenant_of(request.scope)
    if tenant is None:  # registered on tenant hosts only; the apex has no workspace to act in
        raise NotFoundException()
    return tenant


def _refused(refusal: LinkRefused) -> Template:
    """A link that cannot be used: say why, and where a fresh one comes from."""
    return Template(
        template_name="public/account_message.html",
        context={
            "heading": _("This link cannot be used"),
            "message": refusal.problem.message(),
            "offer_reset": True,
        },
        status_code=HTTP_400_BAD_REQUEST,
    )


# --- choosing a password (invitation or reset) ------------------------------------------------


def _password_page(holder: LinkHolder, token: str, errors: FieldErrors | None = None) -> Template:
    return Template(
        template_name="public/set_password.html",
        context={
            "holder": holder,
            "invited": holder.purpose == TokenPurpose.INVITATION,
            "token": token,
            "errors": errors or {},
            "min_length": MIN_LENGTH,
        },
        status_code=HTTP_400_BAD_REQUEST if errors else 200,
    )


async def _holder(request: Req, tenant: TenantInfo, token: str) -> LinkHolder:
    async with request.app.state.db.transaction(TenantContext.system(tenant.id)) as session:
        return await account_links.inspect_link(session, tenant.id, token, PASSWORD_PURPOSES)


@get("/account/set-password", name="set_password_form")
async def set_password_form(request: Req, token: FromQuery[str] = "") -> Template:
    """Looking does not use the link up: only choosing the password does."""
    tenant = _tenant(request)
    try:
        holder = await _holder(request, tenant, token)
    except LinkRefused as refusal:
        return _refused(refusal)
    return _password_page(holder, token)


@post("/account/set-password", name="set_password", opt=AUTH)
async def set_password(request: Req) -> Response[Any]:
    tenant = _tenant(request)
    state = request.app.state
    # not bound through kit.forms.bind: that strips fields, and a password's spaces are its own
    form = await request.form()
    token, password, confirm = (str(form.get(name, "")) for name in ("token", "password", "confirm"))
    try:
        async with state.db.transaction(TenantContext.system(tenant.id)) as session:
            principal = await account_links.set_password(session, tenant.id, token, password, confirm)
            cookie = await start_session(request, session, principal)
    except InvalidForm as rejected:
        try:
            return _password_page(await _holder(request, tenant, token), token, rejected.errors)
        except LinkRefused as refusal:
            return _refused(refusal)
    except LinkRefused as refusal:
        return _refused(refusal)
    return Redirect(path=home_of(principal), cookies=[cookie], status_code=HTTP_303_SEE_OTHER)


# --- asking for a reset -----------------------------------------------------------------------


@get("/account/forgot-password", name="forgot_password_form")
async def forgot_password_form(email: FromQuery[str] = "") -> Template:
    return Template(template_name="public/forgot_password.html", context={"email": email, "errors": {}})


@post("/account/forgot-password", name="forgot_password", opt=AUTH)
async def forgot_password(request: Req) -> Template:
    """The same answer whether or not the address belongs to anyone here: the page must not tell
    a stranger who works with this company."""
    tenant = _tenant(request)
    email = str((await request.form()).get("email", "")).strip()
    errors = FieldErrors()
    errors.email("email", email)
    if errors:
        return Template(
            template_name="public/forgot_password.html",
            context={"email": email, "errors": errors},
            status_code=HTTP_400_BAD_REQUEST,
        )
    async with request.app.state.db.transaction(TenantContext.system(tenant.id)) as session:
        await account_links.request_password_reset(session, tenant.id, email, link_origin(request))
    return Template(
        template_name="public/account_message.html",
        context={
            "heading": _("Check your e-mail"),
            "message": _(
                "If %(email)s belongs to a login of this workspace, we have sent a link to it. "
                "The link works once, for one hour."
            )
            % {"email": email},
            "offer_login": True,
        },
    )


# --- confirming an e-mail address -------------------------------------------------------------


@get("/account/verify", name="verify_email")
async def verify_email(request: Req, token: FromQuery[str] = "") -> Template:
    """A GET that changes something, on purpose: it is the link in the e-mail, and confirming an
    address twice changes nothing more."""
    tenant = _tenant(request)
    try:
        async with request.app.state.db.transaction(TenantContext.system(tenant.id)) as session:
            identity = await account_links.verify_email(session, tenant.id, token)
    except LinkRefused as refusal:
        return _refused(refusal)
    return Template(
        template_name="public/account_message.html",
        context={
            "heading": _("E-mail address confirmed"),
            "message": _("Thank you: %(email)s is confirmed.") % {"email": identity.email},
            "offer_login": True,
        },
    )


ACCOUNT_ROUTES = [set_password_form, set_password, forgot_password_form, forgot_password, verify_email]
