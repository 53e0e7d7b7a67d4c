"""Self-registration of a supplier on a tenant's portal (/supplier/register), public.

Step 1 asks for the company and the person's e-mail, and e-mails them a link; nothing exists
until that link is used (backend/suppliers/registration.py), which proves the address, lets a
person without a Merkato password choose one, and opens the draft. The registrant is not a member
yet (their membership waits, inactive, for approval), so the draft is reached through a
registration cookie: the registration and identity ids and the identity's credential epoch with an
expiry, signed with the server's secret key (a new password ends it). From another browser the
registrant continues with their e-mail and password. Every change of the draft goes through
backend/suppliers/ in the registrant's own context (their supplier's party, as them); only the
steps before anyone is known (the link, the invitation, signing in) are elevated steps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT, HTTP_429_TOO_MANY_REQUESTS

from backend.auth import identities, links
from backend.auth import service as auth
from backend.auth.origins import client_address
from backend.auth.passwords import MIN_LENGTH
from backend.auth.steps import elevated_step
from backend.dependencies import Db, Workspace
from backend.kit.errors import DomainError
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import gettext as _
from backend.kit.signing import sign, unsign
from backend.models import (
    Identity,
    RegistrationStatus,
    SupplierRegistration,
)
from backend.suppliers import invitations, queries
from backend.suppliers import registration as service
from backend.suppliers.changes import BankDetails, masked, propose_bank_account
from backend.suppliers.documents import accepted_types
from backend.suppliers.registration import EDITABLE, CompanyForm, RegistrationRequest
from backend.suppliers.setup import current_terms
from backend.suppliers.validation import BankAccountForm
from portals.public.account import link_step, through_link
from portals.shared.clock import workspace_today
from portals.shared.forms import form_page
from portals.supplier.document_upload import upload_from_form
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
COOKIE = "merkato_registration"
PATH = "/supplier/register"
LIFETIME = 30 * 86400
START = "supplier/register_start.html"
CONTINUE = "supplier/register_continue.html"


# --- the registration cookie ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftCookie:
    """What the registration cookie names: the draft, its supplier, its registrant, and the
    registrant's credential epoch when it was set (a newer password ends it)."""

    registration_id: UUID
    supplier_id: UUID
    identity_id: UUID
    epoch: int


def registration_cookie(request: Req, registration: SupplierRegistration, identity: Identity) -> Cookie:
    settings = request.app.state.settings
    value = f"{registration.id}.{registration.supplier_id}.{identity.id}.{identity.credential_epoch}"
    return Cookie(
        key=COOKIE,
        value=sign(settings.secret_key, COOKIE, value, LIFETIME),
        path=PATH,
        max_age=LIFETIME,
        httponly=True,
        samesite="lax",
        secure=settings.production,
    )


def _from_cookie(request: Req) -> DraftCookie | None:
    """The cookie's draft; None without one, or for one this server did not sign or that is older
    than the current shape (the start page then leads to signing in again)."""
    payload = unsign(request.app.state.settings.secret_key, COOKIE, request.cookies.get(COOKIE, ""))
    try:
        registration_id, supplier_id, identity_id, epoch = (payload or "").split(".")
        return DraftCookie(UUID(registration_id), UUID(supplier_id), UUID(identity_id), int(epoch))
    except ValueError:
        return None


# --- starting and continuing -----------------------------------------------------------------------


def _start_page(request: Req, form: RegistrationRequest | None = None, **values: Any) -> dict[str, Any]:
    return {"form": form or RegistrationRequest(), "errors": {}, **values}


@get(PATH, name="supplier_register_form")
async def register_form(request: Req) -> Response[Any]:
    if _from_cookie(request):
        return Redirect(path=f"{PATH}/draft")
    return Template(template_name=START, context=_start_page(request))


def _check_mail(email: str) -> Template:
    return Template(
        template_name="public/account_message.html",
        context={
            "heading": _("Check your e-mail"),
            "message": _(
                "We have sent a message to %(email)s. Open the link in it to confirm the address and continue "
                "your registration (the link works once, for two days)."
            )
            % {"email": email},
        },
    )


@post(PATH, name="supplier_register")
async def register(request: Req, workspace: Workspace) -> Response[Any]:
    """Step 1: the company and the person registering it; the link that continues it goes to the
    person's address. The answer is the same for any address."""
    form = bind(RegistrationRequest, await request.form())
    async with (
        elevated_step(request.app.state.db, workspace.id) as session,
        form_page(START, lambda refused: _start_page(request, form, errors=refused.errors)),
    ):
        await service.request(session, form)
    return _check_mail(identities.normalize_email(form.login_email))


def _continue_page(holder: links.LinkHolder, token: str, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "holder": holder,
        "company": holder.payload.get("legal_name", ""),
        "token": token,
        "errors": errors or {},
        "min_length": MIN_LENGTH,
    }


@get(f"{PATH}/continue", name="supplier_register_link")
async def continue_form(request: Req, workspace: Workspace, token: FromQuery[str] = "") -> Template:
    """The page the e-mailed link opens: whom it is for, and a password to choose for a person who
    has none yet. Looking does not use the link up."""
    async with link_step(request, workspace.id, "register") as session:
        holder = await links.inspect(session, token, service.REGISTRATION_LINKS, workspace_id=workspace.id)
    return Template(template_name=CONTINUE, context=_continue_page(holder, token))


@post(f"{PATH}/continue", name="supplier_register_from_link")
async def continue_from_link(request: Req, workspace: Workspace) -> Response[Any]:
    # not bound through kit.forms.bind: that strips fields, and a password's spaces are its own
    data = await request.form()
    token, password, confirm = (str(data.get(name, "")) for name in ("token", "password", "confirm"))

    def again(holder: links.LinkHolder, errors: Mapping[str, str]) -> dict[str, Any]:
        return _continue_page(holder, token, errors)

    async with through_link(
        request, workspace.id, token, service.REGISTRATION_LINKS, template=CONTINUE, context_of=again, offer="register"
    ) as session:
        registration, identity = await service.start_from_link(session, token, password=password, confirm=confirm)
        cookie = registration_cookie(request, registration, identity)
    return Redirect(path=f"{PATH}/draft", cookies=[cookie])


@post(f"{PATH}/sign-in", name="supplier_register_continue")
async def continue_registration(request: Req, workspace: Workspace) -> Response[Any]:
    """From another browser: e-mail and password find the person's open registration here."""
    state = request.app.state
    data = await request.form()
    email, password = str(data.get("email", "")), str(data.get("password", ""))
    tenant_id = workspace.id
    refusal = None
    async with elevated_step(state.db, tenant_id) as session:
        registration = None
        try:
            identity = await auth.check_credentials(
                session,
                email,
                password,
                client=client_address(request),
                max_failures=state.settings.login_max_failures_per_hour,
            )
            registration = await queries.registration_of_registrant(session, identity.id)
        except auth.LoginRefused as refused:
            refusal = refused
    if registration is None:
        message = (
            _("Too many attempts. Please wait a while and try again.")
            if refusal is not None and refusal.throttled
            else _("No registration found for this e-mail and password.")
        )
        status = HTTP_429_TOO_MANY_REQUESTS if refusal is not None and refusal.throttled else HTTP_400_BAD_REQUEST
        context = _start_page(request, continue_error=message)
        return Template(template_name=START, context=context, status_code=status)
    return Redirect(path=f"{PATH}/draft", cookies=[registration_cookie(request, registration, identity)])


# --- taking up an invitation from staff -------------------------------------------------------------


async def _invitation(session: Db, token: str) -> SupplierRegistration:
    """The registration an invitation link is for; an unknown, replaced or expired link is a 404
    (and the tenant's context keeps another tenant's invitations out of reach)."""
    registration = await invitations.invited_registration(session, token)
    if registration is None:
        raise NotFoundException()
    return registration


def _taken() -> Template:
    context = {
        "form": RegistrationRequest(),
        "errors": {},
        "notice": _(
            "This invitation has been taken up already: continue the registration with your e-mail and password."
        ),
    }
    return Template(template_name=START, context=context, status_code=HTTP_409_CONFLICT)


async def _invitation_page(
    session: Db,
    request: Req,
    registration: SupplierRegistration,
    form: RegistrationRequest | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The registration form filled in with what the inviting staff knew; a password to choose
    only for an invited address without a Merkato login."""
    if form is None:
        supplier = await service.supplier_of(session, registration)
        form = RegistrationRequest(
            legal_name=supplier.name,
            country=supplier.country,
            currency=supplier.currency,
            tax_id=supplier.tax_id or "",
        )
    form.login_email = registration.invited_email or ""
    known = await identities.find(session, form.login_email)
    return {
        "form": form,
        "errors": errors or {},
        "action": request.url.path,
        "invited": True,
        "has_login": known is not None and known.has_password,
        "known": known is not None,
        "min_length": MIN_LENGTH,
    }


@get(f"{PATH}/invitation/{{token:str}}", name="supplier_register_invitation")
async def invitation_form(request: Req, workspace: Workspace, token: FromPath[str]) -> Response[Any]:
    async with elevated_step(request.app.state.db, workspace.id) as session:
        registration = await _invitation(session, token)
        if registration.registrant_id is not None:
            return _taken()
        context = await _invitation_page(session, request, registration)
    return Template(template_name=START, context=context)


@post(f"{PATH}/invitation/{{token:str}}", name="supplier_register_invited")
async def accept_invitation(request: Req, workspace: Workspace, token: FromPath[str]) -> Response[Any]:
    data = await request.form()
    form = bind(RegistrationRequest, data)  # what was typed, to show again
    company = bind(CompanyForm, data)
    password, confirm = str(data.get("password", "")), str(data.get("confirm", ""))
    async with elevated_step(request.app.state.db, workspace.id) as session:
        registration = await _invitation(session, token)
        if registration.registrant_id is not None:  # checked on the locked row, before anyone is created
            return _taken()
        async with form_page(
            START, lambda refused: _invitation_page(session, request, registration, form, errors=refused.errors)
        ):
            identity = await invitations.accept_invitation(
                session, registration, company, full_name=form.full_name, password=password, confirm=confirm
            )
        cookie = registration_cookie(request, registration, identity)
    return Redirect(path=f"{PATH}/draft", cookies=[cookie])


# --- the draft: one page, a section per step, each saved on its own ---------------------------------


async def _draft_context(session: Db, registration: SupplierRegistration, **values: Any) -> dict[str, Any]:
    found = await queries.draft(session, registration)
    supplier = found.supplier
    return {
        "registration": registration,
        "supplier": supplier,
        "editable": registration.status in EDITABLE,
        "company": CompanyForm(
            legal_name=supplier.name,
            trading_name=supplier.trading_name or "",
            country=supplier.country,
            tax_id=supplier.tax_id or "",
            street=supplier.street or "",
            city=supplier.city or "",
            postal_code=supplier.postal_code or "",
            website=supplier.website or "",
            currency=supplier.currency,
            email=supplier.email or "",
        ),
        "contacts": found.contacts,
        "categories": found.categories,
        "chosen": found.chosen,
        "required": [(row.document_type, row.name, row.expires) for row in found.required],
        "documents": found.documents,
        "missing": await service.missing(session, registration),
        "terms": await current_terms(session),
        "accepted_types": await accepted_types(session),
        "bank": BankAccountForm(country=supplier.country),
        "bank_entered": masked(found.bank_entered.account) if found.bank_entered else "",
        "errors": {},
        "section": "",
        **values,
    }


def _as_registrant(request: Req, tenant_id: UUID, opened: DraftCookie) -> AbstractAsyncContextManager[Db]:
    return service.as_registrant(request.app.state.db, tenant_id, opened.supplier_id, opened.identity_id)


async def _draft_of(
    session: Db, tenant_id: UUID, opened: DraftCookie, *, lock: bool = False
) -> SupplierRegistration | None:
    registration: SupplierRegistration | None = await session.get(
        SupplierRegistration, (tenant_id, opened.registration_id), with_for_update=lock
    )
    return registration


async def _still_theirs(session: Db, registration: SupplierRegistration | None, opened: DraftCookie) -> bool:
    """The cookie's registration is still this person's: theirs, not approved (from then on the
    company is the portal's, behind the login, where access can be taken away), and made before
    no newer password (whoever knew the old one must not keep the draft)."""
    if (
        registration is None
        or registration.registrant_id != opened.identity_id
        or registration.status == RegistrationStatus.APPROVED
    ):
        return False
    identity = await session.get(Identity, opened.identity_id)
    return identity is not None and identity.credential_epoch == opened.epoch


def _elsewhere(registration: SupplierRegistration | None) -> Response[Any]:
    """Where a cookie that no longer opens the draft leads, forgetting it (else the start page
    would send the browser back to the draft): an approved supplier logs in, anyone else starts."""
    forget = Cookie(key=COOKIE, value="", path=PATH, max_age=0, httponly=True, samesite="lax")
    if registration is not None and registration.status == RegistrationStatus.APPROVED:
        return Redirect(path="/login?next=/supplier", cookies=[forget])
    return Redirect(path=PATH, cookies=[forget])


@get(f"{PATH}/draft", name="supplier_register_draft")
async def draft(request: Req, workspace: Workspace) -> Response[Any]:
    opened = _from_cookie(request)
    if opened is None:
        return Redirect(path=PATH)
    async with _as_registrant(request, workspace.id, opened) as session:
        registration = await _draft_of(session, workspace.id, opened)
        if registration is None or not await _still_theirs(session, registration, opened):
            return _elsewhere(registration)
        context = await _draft_context(session, registration)
    return Template(template_name="supplier/register_draft.html", context=context)


Change = Callable[[Db, SupplierRegistration], Awaitable[None]]


async def _step(request: Req, workspace: TenantInfo, section: str, change: Change) -> Response[Any]:
    """Run one section's change on the registration, as the registrant; a refusal comes back on
    the draft page with that section open (400; 409 for a step the registration has moved past)
    and nothing of the step is kept."""
    opened = _from_cookie(request)
    if opened is None:
        return Redirect(path=PATH)
    async with _as_registrant(request, workspace.id, opened) as session:
        registration = await _draft_of(session, workspace.id, opened, lock=True)
        if registration is None or not await _still_theirs(session, registration, opened):
            return _elsewhere(registration)

        async def again(refused: DomainError) -> dict[str, Any]:
            errors = refused.errors or {"registration": refused.message}
            return await _draft_context(session, registration, errors=errors, section=section)

        async with form_page("supplier/register_draft.html", again):
            await change(session, registration)
    return Redirect(path=f"{PATH}/draft#{section}")


@post(f"{PATH}/company", name="supplier_register_company")
async def save_company(request: Req, workspace: Workspace) -> Response[Any]:
    form = bind(CompanyForm, await request.form())

    async def change(session: Db, registration: SupplierRegistration) -> None:
        await service.update_company(session, registration, form)

    return await _step(request, workspace, "company", change)


@post(f"{PATH}/contacts", name="supplier_register_contact")
async def add_contact(request: Req, workspace: Workspace) -> Response[Any]:
    data = await request.form()

    async def change(session: Db, registration: SupplierRegistration) -> None:
        await service.add_contact(
            session,
            registration,
            name=str(data.get("name", "")).strip(),
            email=str(data.get("email", "")).strip(),
            phone=str(data.get("phone", "")).strip(),
            title=str(data.get("title", "")).strip(),
        )

    return await _step(request, workspace, "contacts", change)


@post(f"{PATH}/categories", name="supplier_register_categories")
async def choose_categories(request: Req, workspace: Workspace) -> Response[Any]:
    data = await request.form()
    wanted = {str(value) for value in data.getall("category", [])} if hasattr(data, "getall") else set()

    async def change(session: Db, registration: SupplierRegistration) -> None:
        await service.choose_categories(session, registration, wanted, today=workspace_today(workspace))

    return await _step(request, workspace, "categories", change)


@post(f"{PATH}/bank", name="supplier_register_bank")
async def bank_account(request: Req, workspace: Workspace) -> Response[Any]:
    form = bind(BankAccountForm, await request.form())

    async def change(session: Db, registration: SupplierRegistration) -> None:
        service.ensure_editable(registration, "edited")
        await propose_bank_account(session, registration.supplier_id, BankDetails.of(form))

    return await _step(request, workspace, "bank", change)


@post(f"{PATH}/documents", name="supplier_register_document")
async def upload(request: Req, workspace: Workspace) -> Response[Any]:
    data = await request.form()

    async def change(session: Db, registration: SupplierRegistration) -> None:
        service.ensure_editable(registration, "edited")
        await upload_from_form(request, session, registration.supplier_id, data, today=workspace_today(workspace))

    return await _step(request, workspace, "documents", change)


@post(f"{PATH}/terms", name="supplier_register_terms")
async def accept_terms(request: Req, workspace: Workspace) -> Response[Any]:
    data = await request.form()

    async def change(session: Db, registration: SupplierRegistration) -> None:
        if data.get("accept") != "yes":
            raise InvalidForm(FieldErrors(accept=_("Please accept the supplier terms.")))
        await service.accept_terms(session, registration)

    return await _step(request, workspace, "terms", change)


@post(f"{PATH}/submit", name="supplier_register_submit")
async def submit(request: Req, workspace: Workspace) -> Response[Any]:
    async def change(session: Db, registration: SupplierRegistration) -> None:
        await service.submit(session, registration)

    return await _step(request, workspace, "submit", change)


registration_router = Router(
    path="/",
    route_handlers=[
        register_form,
        register,
        continue_form,
        continue_from_link,
        continue_registration,
        invitation_form,
        accept_invitation,
        draft,
        save_company,
        add_contact,
        choose_categories,
        bank_account,
        upload,
        accept_terms,
        submit,
    ],
    include_in_schema=False,
)
