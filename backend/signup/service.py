"""Signing a company up: its workspace, with its first owner, from the public signup page.

With billing on (a Stripe key configured) the workspace waits in `pending` until Checkout
succeeds (backend/billing takes Stripe's word for that); without, it is active on the default
plan at once. The owner's address proves itself through a one-time link before anyone can act
as the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec
from sqlalchemy import any_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import PersonForm, add_person
from backend.audit.service import record
from backend.auth import links
from backend.authz.roles import StaffRole
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import Identity, LinkPurpose, Membership, MembershipKind, Tenant, TenantStatus
from backend.settings import Settings
from tenants.billing.plans import DEFAULT_PLAN, PLANS, Interval
from tenants.directory import create_tenant, slug_problem, slug_taken
from tenants.isolation import context_of


def slug_message(problem: str) -> str:
    if problem == "format":
        return _("Use 1–40 lower-case letters, digits and hyphens, starting and ending with a letter or digit.")
    if problem == "reserved":
        return _("This address is reserved. Please choose another.")
    return _("This address is already taken. Please choose another.")


async def check_slug(session: AsyncSession, slug: str) -> str | None:
    """Why this workspace address cannot be had (a message), or None when it is free."""
    problem = slug_problem(slug)
    if problem is None and await slug_taken(session, slug):
        problem = "taken"
    return slug_message(problem) if problem else None


class SignupForm(msgspec.Struct):
    company: str = ""
    slug: str = ""
    full_name: str = ""
    email: str = ""
    plan: str = ""
    interval: str = Interval.MONTH.value

    async def errors(self, session: AsyncSession, *, new_identity: bool) -> FieldErrors:
        errors = FieldErrors()
        if errors.require("company", self.company):
            errors.max_length("company", self.company, 200)
        if errors.require("slug", self.slug) and (problem := await check_slug(session, self.slug.lower())):
            errors["slug"] = problem
        if self.plan not in PLANS:
            errors["plan"] = _("Choose a plan.")
        if self.interval not in Interval.__members__.values():
            errors["interval"] = _("Choose monthly or yearly billing.")
        if new_identity:
            if errors.require("full_name", self.full_name):
                errors.max_length("full_name", self.full_name, 200)
            errors.email("email", self.email)
        return errors


@dataclass(frozen=True, slots=True)
class SignedUp:
    tenant: Tenant
    identity: Identity


async def sign_up(
    session: AsyncSession, form: SignupForm, *, identity: Identity | None, settings: Settings
) -> SignedUp:
    """The workspace with its owner, in the session's transaction (whose context is the new
    tenant's id, so the owner's membership passes RLS). With billing on it waits in `pending` for
    Stripe; without, it is active on the default plan at once.

    `identity` is the logged-in apex user signing up another workspace. Anyone else gives an
    e-mail: the owner's membership is made for that address, and the address is sent a link to
    confirm it (choosing a password if it has none) before anyone can act as the owner; the answer
    is the same whether the address has a Merkato login or not."""
    if errors := await form.errors(session, new_identity=identity is None):
        raise InvalidForm(errors)
    tenant_id = context_of(session).tenant_id
    billing = settings.billing_enabled
    tenant = await create_tenant(
        session,
        slug=form.slug.lower(),
        name=form.company,
        status=TenantStatus.PENDING if billing else TenantStatus.ACTIVE,
        plan=form.plan if billing else DEFAULT_PLAN,
        tenant_id=tenant_id,
    )
    tenant.billing_interval = form.interval if billing else None
    email, full_name = (identity.email, identity.full_name) if identity else (form.email, form.full_name)
    person = PersonForm(email=email, full_name=full_name, roles=[StaffRole.OWNER.value])
    # the owner hears from us through the signup link (or is the one signing up): no invitation
    membership = await add_person(session, person, kind=MembershipKind.STAFF, welcome=False)
    owner = await session.get(Identity, membership.identity_id)
    assert owner is not None
    await record(
        session,
        "tenant.signed_up",
        "tenant",
        tenant.id,
        after={"slug": tenant.slug, "name": tenant.name, "plan": tenant.plan, "status": tenant.status},
    )
    if identity is None:
        await links.ask(
            session,
            LinkPurpose.SIGNUP,
            owner.email,
            workspace_id=None,
            payload={"tenant_id": str(tenant.id), "full_name": form.full_name},
            once_per_window=False,
        )
    return SignedUp(tenant=tenant, identity=owner)


SIGNUP_LINKS = (LinkPurpose.SIGNUP.value,)


async def confirm_owner(session: AsyncSession, token: str, *, password: str, confirm: str) -> tuple[Identity, UUID]:
    """Use a signup link: the owner's address is proved (they choose a password if they have none)
    and the identity and its workspace's id are returned, to be logged in on the apex. LinkRefused
    for a bad link; InvalidForm for a bad password (the link then stays unused)."""
    holder = await links.use(session, token, SIGNUP_LINKS, workspace_id=None)
    owner = await links.prove_and_choose(
        session, holder, full_name=holder.full_name, password=password, confirm=confirm
    )
    return owner, UUID(str(holder.payload["tenant_id"]))


async def owned_workspace(session: AsyncSession, tenant_id: UUID, identity_id: UUID) -> Tenant | None:
    """The workspace, if this person is an active owner of it (else None: for anyone else it is as
    if it did not exist)."""
    owner = await session.scalar(
        select(Membership.id).where(
            Membership.tenant_id == tenant_id,
            Membership.identity_id == identity_id,
            Membership.kind == MembershipKind.STAFF,
            Membership.active.is_(True),
            any_(Membership.roles) == StaffRole.OWNER.value,
        )
    )
    return await session.get(Tenant, tenant_id) if owner else None
