"""Self-registration of a supplier on a tenant's portal (/supplier/register), public.

The registrant is not a member yet (their membership waits, inactive, for approval), so the draft
is reached through a registration cookie: the registration and identity ids with an expiry,
signed with the server's secret key. From another browser the registrant continues with their
e-mail and password. Every change goes through backend/suppliers/ in the tenant's system context,
naming the registrant as the actor.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor
from backend.auth import service as auth
from backend.auth.account_links import MAX_PASSWORD_LENGTH
from backend.auth.passwords import MIN_LENGTH, hash_password
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import gettext as _
from backend.kit.signing import sign, unsign
from backend.models import (
    BankAccountStatus,
    DocumentRequirement,
    Identity,
    RegistrationStatus,
    SupplierBankAccount,
    SupplierCategory,
    SupplierContact,
    SupplierDocument,
    SupplierQualification,
    SupplierRegistration,
)
from backend.suppliers import registration as service
from backend.suppliers.changes import BankDetails, masked, propose_bank_account
from backend.suppliers.documents import accepted_types
from backend.suppliers.qualification import supply_category
from backend.suppliers.registration import EDITABLE, CompanyForm, IllegalTransition
from backend.suppliers.setup import current_terms
from backend.suppliers.validation import BankAccountForm
from portals.shared.clock import workspace_today
from portals.shared.forms import FormRejected
from portals.shared.links import link_origin
from portals.supplier.document_upload import upload_from_form
from tenants.context import TenantContext

Req = Request[Any, Any, Any]
COOKIE = "merkato_registration"
PATH = "/supplier/register"
LIFETIME = 30 * 86400


# --- the registration cookie ----------------------------------------------------------------------


def registration_cookie(request: Req, registration_id: UUID, identity_id: UUID) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=COOKIE,
        value=sign(settings.secret_key, COOKIE, f"{registration_id}.{identity_id}", LIFETIME),
        path=PATH,
        max_age=LIFETIME,
        httponly=True,
        samesite="lax",
        secure=settings.production,
    )


def _from_cookie(request: Req) -> tuple[UUID, UUID] | None:
    payload = unsign(request.app.state.settings.secret_key, COOKIE, request.cookies.get(COOKIE, ""))
    try:
        registration_id, identity_id = (payload or "").split(".")
        return UUID(registration_id), UUID(identity_id)
    except ValueError:
        return None


def _tenant_id(request: Req) -> UUID:
    tenant_id: UUID = request.scope["state"]["tenant"].id
    return tenant_id


# --- starting and continuing -----------------------------------------------------------------------


class Registrant(CompanyForm):
    full_name: str = ""
    login_email: str = ""
    password: str = ""


@get(PATH, name="supplier_register_form")
async def register_form(request: Req) -> Response[Any]:
    if _from_cookie(request):
        return Redirect(path=f"{PATH}/draft")
    return Template(template_name="supplier/register_start.html", context={"form": Registrant(), "errors": {}})


@post(PATH, name="supplier_register")
async def register(request: Req) -> Response[Any]:
    """Step 1: the company and the person registering it (a new login, or their Merkato one)."""
    state = request.app.state
    form = bind(Registrant, await request.form())
    tenant_id = _tenant_id(request)
    try:
        async with state.db.transaction(TenantContext.system(tenant_id)) as session:
            try:
                identity = await _registrant(session, form, state.settings.login_max_failures_per_hour)
                registration = await service.start(session, form, registrant=identity, origin=link_origin(request))
            except InvalidForm as rejected:
                form.password = ""
                context = {"form": form, "errors": rejected.errors}
                raise FormRejected("supplier/register_start.html", context) from rejected
            cookie = registration_cookie(request, registration.id, identity.id)
    except FormRejected as page:
        await _keep_failure(request, page.__cause__)
        raise
    return Redirect(path=f"{PATH}/draft", cookies=[cookie])


class PasswordRefused(InvalidForm):
    """The e-mail has a Merkato login and this is not its password."""

    def __init__(self, email: str, *, throttled: bool) -> None:
        message = (
            _("Too many failed attempts for this e-mail. Please try again in an hour.")
            if throttled
            else _("This e-mail already has a Merkato login: enter its password.")
        )
        super().__init__(FieldErrors(password=message))
        self.email, self.throttled = email, throttled


async def _keep_failure(request: Req, cause: BaseException | None) -> None:
    """A wrong password counts against the e-mail like one at the login page. The registration's
    own transaction has rolled back with the failure it wrote, so it is written again here: else
    this public form would let anyone guess any login's password without limit."""
    if isinstance(cause, PasswordRefused) and not cause.throttled:
        async with request.app.state.db.transaction(TenantContext.system(_tenant_id(request))) as session:
            await auth.record_failure(session, cause.email)


async def _registrant(session: Any, form: Registrant, max_failures: int) -> Identity:
    """The person's identity: theirs if the e-mail has one (then the password must be theirs),
    else a new one. One login serves every buyer a supplier works with."""
    errors = form.errors()
    errors.email("login_email", form.login_email)
    existing = None
    if "login_email" not in errors:
        existing = await session.scalar(
            select(Identity).where(Identity.email == auth.normalize_email(form.login_email))
        )
    if existing is None:
        if errors.require("full_name", form.full_name):
            errors.max_length("full_name", form.full_name, 200)
        if len(form.password) < MIN_LENGTH:
            errors["password"] = _("At least %(n)d characters.") % {"n": MIN_LENGTH}
        errors.max_length("password", form.password, MAX_PASSWORD_LENGTH)
    if errors:
        raise InvalidForm(errors)
    if existing is not None:
        try:
            return await auth.check_credentials(session, form.login_email, form.password, max_failures=max_failures)
        except auth.LoginRefused as refused:
            raise PasswordRefused(form.login_email, throttled=refused.throttled) from None
    identity = Identity(
        email=auth.normalize_email(form.login_email),
        full_name=form.full_name,
        password_hash=hash_password(form.password),
    )
    session.add(identity)
    await session.flush()
    return identity


@post(f"{PATH}/continue", name="supplier_register_continue")
async def continue_registration(request: Req) -> Response[Any]:
    """From another browser: e-mail and password find the person's open registration here."""
    state = request.app.state
    data = await request.form()
    email, password = str(data.get("email", "")), str(data.get("password", ""))
    tenant_id = _tenant_id(request)
    async with state.db.transaction(TenantContext.system(tenant_id)) as session:
        registration = None
        try:
            identity = await auth.check_credentials(
                session, email, password, max_failures=state.settings.login_max_failures_per_hour
            )
            registration = await session.scalar(
                select(SupplierRegistration).where(SupplierRegistration.registrant_id == identity.id)
            )
        except auth.LoginRefused:
            pass
    if registration is None:
        context = {
            "form": Registrant(),
            "errors": {},
            "continue_error": _("No registration found for this e-mail and password."),
        }
        return Template(template_name="supplier/register_start.html", context=context, status_code=400)
    return Redirect(path=f"{PATH}/draft", cookies=[registration_cookie(request, registration.id, identity.id)])


# --- taking up an invitation from staff -------------------------------------------------------------


async def _invitation(session: AsyncSession, token: str) -> SupplierRegistration:
    """The registration an invitation link is for; an unknown, replaced or expired link is a 404
    (and the tenant's context keeps another tenant's invitations out of reach)."""
    registration = await service.invited_registration(session, token)
    if registration is None:
        raise NotFoundException()
    return registration


def _taken() -> Template:
    context = {
        "form": Registrant(),
        "errors": {},
        "notice": _(
            "This invitation has been taken up already: continue the registration with your e-mail and password."
        ),
    }
    return Template(template_name="supplier/register_start.html", context=context, status_code=HTTP_409_CONFLICT)


@get(f"{PATH}/invitation/{{token:str}}", name="supplier_register_invitation")
async def invitation_form(request: Req, token: FromPath[str]) -> Response[Any]:
    """The registration form, filled in with what the inviting staff knew."""
    async with request.app.state.db.transaction(TenantContext.system(_tenant_id(request))) as session:
        registration = await _invitation(session, token)
        if registration.registrant_id is not None:
            return _taken()
        supplier = await service.supplier_of(session, registration)
        form = Registrant(
            legal_name=supplier.name,
            country=supplier.country,
            currency=supplier.currency,
            tax_id=supplier.tax_id or "",
            login_email=registration.invited_email or "",
        )
    context = {"form": form, "errors": {}, "action": request.url.path, "invited": True}
    return Template(template_name="supplier/register_start.html", context=context)


@post(f"{PATH}/invitation/{{token:str}}", name="supplier_register_invited")
async def accept_invitation(request: Req, token: FromPath[str]) -> Response[Any]:
    state = request.app.state
    form = bind(Registrant, await request.form())
    try:
        async with state.db.transaction(TenantContext.system(_tenant_id(request))) as session:
            registration = await _invitation(session, token)
            if registration.registrant_id is not None:  # checked on the locked row, before anyone is created
                return _taken()
            try:
                identity = await _registrant(session, form, state.settings.login_max_failures_per_hour)
                await service.accept_invitation(
                    session, registration, form, registrant=identity, origin=link_origin(request)
                )
            except InvalidForm as rejected:
                form.password = ""
                context = {"form": form, "errors": rejected.errors, "action": request.url.path, "invited": True}
                raise FormRejected("supplier/register_start.html", context) from rejected
            cookie = registration_cookie(request, registration.id, identity.id)
    except FormRejected as page:
        await _keep_failure(request, page.__cause__)
        raise
    return Redirect(path=f"{PATH}/draft", cookies=[cookie])


# --- the draft: one page, a section per step, each saved on its own ---------------------------------


async def _draft_context(session: Any, registration: SupplierRegistration) -> dict[str, Any]:
    supplier = await service.supplier_of(session, registration)
    chosen = set(
        await session.scalars(
            select(SupplierQualification.category_id).where(SupplierQualification.supplier_id == supplier.id)
        )
    )
    required = (
        await session.execute(
            select(DocumentRequirement.document_type, DocumentRequirement.name, DocumentRequirement.expires)
            .where(DocumentRequirement.category_id.in_(chosen))
            .distinct()
        )
    ).all()
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
        "contacts": list(
            await session.scalars(select(SupplierContact).where(SupplierContact.supplier_id == supplier.id))
        ),
        "categories": list(await session.scalars(select(SupplierCategory).order_by(SupplierCategory.code))),
        "chosen": chosen,
        "required": required,
        "documents": list(
            await session.scalars(
                select(SupplierDocument)
                .where(SupplierDocument.supplier_id == supplier.id)
                .order_by(SupplierDocument.document_type, SupplierDocument.version)
            )
        ),
        "missing": await service.missing(session, registration),
        "terms": await current_terms(session),
        "accepted_types": await accepted_types(session),
        "bank": BankAccountForm(country=supplier.country),
        "bank_entered": masked(entered.account) if (entered := await _bank_entered(session, supplier.id)) else "",
        "errors": {},
        "section": "",
    }


async def _bank_entered(session: AsyncSession, supplier_id: UUID) -> SupplierBankAccount | None:
    """The account the registrant entered last (never shown whole: its last four characters)."""
    account: SupplierBankAccount | None = await session.scalar(
        select(SupplierBankAccount)
        .where(SupplierBankAccount.supplier_id == supplier_id, SupplierBankAccount.status != BankAccountStatus.REJECTED)
        .order_by(SupplierBankAccount.created_at.desc())
        .limit(1)
    )
    return account


async def _open(request: Req) -> tuple[UUID, Actor, UUID] | None:
    found = _from_cookie(request)
    if found is None:
        return None
    registration_id, identity_id = found
    return registration_id, Actor(kind="supplier", identity_id=identity_id), identity_id


def _still_theirs(registration: SupplierRegistration | None, identity_id: UUID) -> bool:
    """The cookie's registration is still this person's: theirs, and not approved (from then on
    the company is the portal's, behind the login, where access can be taken away)."""
    return (
        registration is not None
        and registration.registrant_id == identity_id
        and registration.status != RegistrationStatus.APPROVED
    )


def _elsewhere(registration: SupplierRegistration | None) -> Response[Any]:
    """Where a cookie that no longer opens the draft leads, forgetting it (else the start page
    would send the browser back to the draft): an approved supplier logs in, anyone else starts."""
    forget = Cookie(key=COOKIE, value="", path=PATH, max_age=0, httponly=True, samesite="lax")
    if registration is not None and registration.status == RegistrationStatus.APPROVED:
        return Redirect(path="/login?next=/supplier", cookies=[forget])
    return Redirect(path=PATH, cookies=[forget])


@get(f"{PATH}/draft", name="supplier_register_draft")
async def draft(request: Req) -> Response[Any]:
    opened = await _open(request)
    if opened is None:
        return Redirect(path=PATH)
    registration_id, _actor, identity_id = opened
    async with request.app.state.db.transaction(TenantContext.system(_tenant_id(request))) as session:
        registration = await session.get(SupplierRegistration, (_tenant_id(request), registration_id))
        if not _still_theirs(registration, identity_id):
            return _elsewhere(registration)
        context = await _draft_context(session, registration)
    return Template(template_name="supplier/register_draft.html", context=context)


async def _step(request: Req, section: str, change: Any) -> Response[Any]:
    """Run one section's change on the registration; its errors come back on the draft page (400)."""
    opened = await _open(request)
    if opened is None:
        return Redirect(path=PATH)
    registration_id, actor, identity_id = opened
    tenant_id = _tenant_id(request)
    async with request.app.state.db.transaction(TenantContext.system(tenant_id)) as session:
        registration = await session.get(SupplierRegistration, (tenant_id, registration_id), with_for_update=True)
        if not _still_theirs(registration, identity_id):
            return _elsewhere(registration)
        try:
            await change(session, registration, actor, identity_id)
        except (InvalidForm, IllegalTransition) as rejected:
            errors = rejected.errors if isinstance(rejected, InvalidForm) else {"registration": str(rejected)}
            context = await _draft_context(session, registration)
            context.update(errors=errors, section=section)
            raise FormRejected("supplier/register_draft.html", context) from rejected
    return Redirect(path=f"{PATH}/draft#{section}")


@post(f"{PATH}/company", name="supplier_register_company")
async def save_company(request: Req) -> Response[Any]:
    form = bind(CompanyForm, await request.form())

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        await service.update_company(session, registration, form)

    return await _step(request, "company", change)


@post(f"{PATH}/contacts", name="supplier_register_contact")
async def add_contact(request: Req) -> Response[Any]:
    data = await request.form()

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        await service.add_contact(
            session,
            registration,
            name=str(data.get("name", "")).strip(),
            email=str(data.get("email", "")).strip(),
            phone=str(data.get("phone", "")).strip(),
            title=str(data.get("title", "")).strip(),
        )

    return await _step(request, "contacts", change)


@post(f"{PATH}/categories", name="supplier_register_categories")
async def choose_categories(request: Req) -> Response[Any]:
    data = await request.form()
    wanted = {str(value) for value in data.getall("category", [])} if hasattr(data, "getall") else set()

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        service.ensure_editable(registration, "edited")
        known = {str(c) for c in await session.scalars(select(SupplierCategory.id))}
        if not wanted or not wanted <= known:
            raise InvalidForm(FieldErrors(category=_("Choose the categories you supply.")))
        have = {
            str(c)
            for c in await session.scalars(
                select(SupplierQualification.category_id).where(
                    SupplierQualification.supplier_id == registration.supplier_id
                )
            )
        }
        for category_id in sorted(wanted - have):
            await supply_category(session, registration.supplier_id, UUID(category_id), today=workspace_today(request))

    return await _step(request, "categories", change)


@post(f"{PATH}/bank", name="supplier_register_bank")
async def bank_account(request: Req) -> Response[Any]:
    form = bind(BankAccountForm, await request.form())

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        service.ensure_editable(registration, "edited")
        await propose_bank_account(session, registration.supplier_id, BankDetails.of(form), actor=actor)

    return await _step(request, "bank", change)


@post(f"{PATH}/documents", name="supplier_register_document")
async def upload(request: Req) -> Response[Any]:
    data = await request.form()

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        service.ensure_editable(registration, "edited")
        await upload_from_form(request, session, registration.supplier_id, data, actor)

    return await _step(request, "documents", change)


@post(f"{PATH}/terms", name="supplier_register_terms")
async def accept_terms(request: Req) -> Response[Any]:
    data = await request.form()

    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        if data.get("accept") != "yes":
            raise InvalidForm(FieldErrors(accept=_("Please accept the supplier terms.")))
        await service.accept_terms(session, registration)

    return await _step(request, "terms", change)


@post(f"{PATH}/submit", name="supplier_register_submit")
async def submit(request: Req) -> Response[Any]:
    async def change(session: Any, registration: SupplierRegistration, actor: Actor, identity_id: UUID) -> None:
        await service.submit(session, registration, actor=actor)

    return await _step(request, "submit", change)


registration_router = Router(
    path="/",
    route_handlers=[
        register_form,
        register,
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
