"""Outgoing mail, for a workspace's admins: every e-mail queued in this workspace, what became of
it, and its text and HTML as stored — with every one-time link masked. Without an SMTP server
(development) mail is handed to the server's operator, not to this page: no page shows a
one-time link to anyone but its recipient."""

from __future__ import annotations

from uuid import UUID

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.kit.pagination import PageRequest
from backend.models import MailStatus
from backend.notifications.service import get_mail, search_mail

# Mail tells who was invited, reset or warned about what: only those who may add users read it.
MANAGE = Permission.MANAGE_USERS


@get("/admin/mail", guards=[staff(MANAGE)], name="outgoing_mail")
async def mail_list(db: Db, q: FromQuery[str] = "", status: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    found = await search_mail(db, PageRequest.clamp(page, 25), text=q.strip(), status=status)
    return Template(
        template_name="staff/mail_list.html",
        context={"page": found, "q": q, "status": status, "statuses": list(MailStatus), "label": MailStatus.label_of},
    )


@get("/admin/mail/{mail_id:uuid}", guards=[staff(MANAGE)], name="outgoing_mail_detail")
async def mail_detail(db: Db, mail_id: FromPath[UUID]) -> Template:
    view = await get_mail(db, mail_id)
    if view is None:
        raise NotFoundException()
    return Template(
        template_name="staff/mail_detail.html",
        context={"view": view, "mail": view.mail, "label": MailStatus.label_of},
    )


MAIL_ROUTES = [mail_list, mail_detail]
