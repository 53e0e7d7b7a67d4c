"""Queueing e-mails and in-app notifications, and reading them back for the pages.

`queue_mail` renders an e-mail in the recipient's language and writes it with its delivery job
in the caller's transaction, so the mail exists exactly when the business change does; the
actor in tasks.py sends it. What it stores is what anyone may read: a one-time secret, passed as a
`Secret` in the context, is stored masked, and the real message sealed for the actor alone.
`notify` puts a line under a member's bell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, Select, String, and_, case, cast, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.outbox import enqueue
from backend.kit.i18n import in_locale, negotiate
from backend.kit.ids import new_id
from backend.kit.pagination import Page, PageRequest
from backend.models import Identity, JobStatus, MailStatus, Membership, Notification, OutboxJob, OutgoingMail, Tenant
from backend.notifications.rendering import has_secrets, render_mail, revealed, shown
from backend.notifications.sealing import seal
from backend.notifications.tasks import MAIL_KEY_PREFIX, SEND_MAIL, mail_job_key
from backend.settings import get_settings
from tenants.isolation import context_of

# A translatable text for someone else: a callable runs in the recipient's language.
Text = str | Callable[[], str]


def _tenant_id(session: AsyncSession) -> UUID:
    tenant_id = context_of(session).tenant_id
    if tenant_id is None:
        raise ValueError("notifications belong to a tenant: this needs a tenant context")
    return tenant_id


def recipient_locale(identity_locale: str | None, tenant_locale: str | None) -> str:
    """The person's own language if they chose one, else their workspace's."""
    return negotiate(identity_locale, fallback=tenant_locale)


# --- e-mail -------------------------------------------------------------------------------------


async def queue_mail(
    session: AsyncSession, *, to: str, template: str, locale: str, context: Mapping[str, Any]
) -> OutgoingMail:
    """Render `email/<template>` in `locale` for `to` and queue its delivery in this transaction.
    Put every value only the recipient may see into `context` as a `Secret` (`secret_link`)."""
    tenant = await session.get(Tenant, _tenant_id(session))
    assert tenant is not None  # the context's tenant exists: the foreign keys say so
    masked = render_mail(template, locale, shown(context), tenant_name=tenant.name)
    mail = OutgoingMail(
        tenant_id=tenant.id,
        id=new_id(),
        to_address=to,
        subject=masked.subject[:300],
        text_body=masked.text,
        html_body=masked.html,
        template=template,
        locale=masked.locale,
        status=MailStatus.QUEUED,
    )
    if has_secrets(context):
        real = render_mail(template, locale, revealed(context), tenant_name=tenant.name)
        mail.sealed_message = seal(mail, real, get_settings().secret_key)
    session.add(mail)
    await session.flush()
    await enqueue(session, SEND_MAIL, mail_id=mail.id, key=mail_job_key(mail.id))
    return mail


@dataclass(frozen=True, slots=True)
class MailView:
    """A mail as the Outgoing mail page shows it: its own status, or failed once its delivery
    job gave up (the actor cannot record that itself: its failed attempt is rolled back)."""

    mail: OutgoingMail
    status: str
    error: str | None
    attempts: int


MailRow = tuple[OutgoingMail, str, str | None, int | None]


def _mail_query() -> tuple[Select[MailRow], ColumnElement[str]]:
    """Each mail with the effective status and the error of its delivery job."""
    delivery = and_(
        OutboxJob.tenant_id == OutgoingMail.tenant_id,
        OutboxJob.key == literal(MAIL_KEY_PREFIX) + cast(OutgoingMail.id, String),
    )
    status = case(
        (and_(OutgoingMail.status == MailStatus.QUEUED, OutboxJob.status == JobStatus.FAILED), MailStatus.FAILED.value),
        else_=OutgoingMail.status,
    ).label("effective_status")
    query = select(
        OutgoingMail, status, func.coalesce(OutgoingMail.error, OutboxJob.last_error), OutboxJob.attempts
    ).outerjoin(OutboxJob, delivery)
    return query, status


def _view(row: Row[MailRow]) -> MailView:
    mail, status, error, attempts = row
    return MailView(mail=mail, status=status, error=error, attempts=attempts or 0)


async def search_mail(
    session: AsyncSession, request: PageRequest, *, text: str = "", status: str = ""
) -> Page[MailView]:
    query, effective = _mail_query()
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(OutgoingMail.to_address.ilike(pattern), OutgoingMail.subject.ilike(pattern)))
    if status in MailStatus.__members__.values():
        query = query.where(effective == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    newest_first = query.order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc())
    rows = await session.execute(newest_first.limit(request.size).offset(request.offset))
    return Page(items=[_view(row) for row in rows], total=total or 0, request=request)


async def get_mail(session: AsyncSession, mail_id: UUID) -> MailView | None:
    query, _ = _mail_query()
    row = (await session.execute(query.where(OutgoingMail.id == mail_id))).first()
    return _view(row) if row else None


# --- in-app notifications -----------------------------------------------------------------------


def is_local_link(link: str) -> bool:
    """A path on this host: a notification must never send anyone to another site."""
    return link.startswith("/") and not link.startswith("//") and "\\" not in link


async def notify(
    session: AsyncSession, membership_id: UUID, title: Text, body: Text = "", link: str | None = None
) -> Notification:
    """A notification under this member's bell, in their language (pass callables to translate
    there, e.g. `lambda: _("Order %(n)s shipped") % {"n": number}`).

    Call it as staff or from a job: a supplier's or customer's request can reach only its own
    party's memberships, and the database refuses rows for any other party.
    """
    if link is not None and not is_local_link(link):
        raise ValueError(f"notification links are paths on this host, not {link!r}")
    row = (
        await session.execute(
            select(Membership, Identity.locale, Tenant.locale)
            .join(Identity, Identity.id == Membership.identity_id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.id == membership_id)
        )
    ).first()
    if row is None:
        raise LookupError(f"no membership {membership_id} in this context")
    membership, identity_locale, tenant_locale = row
    with in_locale(recipient_locale(identity_locale, tenant_locale)):
        title_text = title() if callable(title) else title
        body_text = body() if callable(body) else body
    notification = Notification(
        tenant_id=membership.tenant_id,
        membership_id=membership.id,
        # the member's party travels with the row, so the party wall covers it too
        supplier_id=membership.supplier_id,
        customer_id=membership.customer_id,
        title=title_text[:200],
        body=body_text,
        link=link,
    )
    session.add(notification)
    await session.flush()
    return notification


async def unread_count(session: AsyncSession, membership_id: UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(Notification.membership_id == membership_id, Notification.read_at.is_(None))
    )
    return count or 0


async def list_notifications(session: AsyncSession, membership_id: UUID, request: PageRequest) -> Page[Notification]:
    query = select(Notification).where(Notification.membership_id == membership_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    newest_first = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    rows = await session.scalars(newest_first.limit(request.size).offset(request.offset))
    return Page(items=list(rows), total=total or 0, request=request)


async def mark_read(session: AsyncSession, membership_id: UUID, notification_id: UUID) -> Notification | None:
    """Mark one of this member's notifications read; None if it is not theirs (or not there)."""
    notification: Notification | None = await session.scalar(
        update(Notification)
        .where(Notification.id == notification_id, Notification.membership_id == membership_id)
        .values(read_at=func.coalesce(Notification.read_at, func.now()))
        .returning(Notification)
    )
    return notification


async def mark_all_read(session: AsyncSession, membership_id: UUID) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.membership_id == membership_id, Notification.read_at.is_(None))
        .values(read_at=func.now())
        .returning(Notification.id)
    )
    return len(result.all())
