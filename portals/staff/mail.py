"""Outgoing mail, for a workspace's admins: every e-mail queued in this workspace, what became of
it, and its text and HTML. Without an SMTP server (embedded mode) this page is where e-mails
end up, so that an invitation or a password reset can still be followed in the demo."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import Db
from backend.kit.i18n import gettext as _
from backend.kit.pagination import PageRequest
from backend.models import MailStatus
from backend.notifications.rendering import redact_links
from backend.notifications.service import get_mail, search_mail

# Mail can carry one-time links to any account of this workspace: only those who may add users
# (and so invite anyone anyway) may read it.
MANAGE = Permission.MANAGE_USERS
_LINK = re.compile(r"https?://[^\s<>\"']+")


def status_labels() -> dict[str, str]:
    return {
        MailStatus.QUEUED: _("Queued"),
        MailStatus.SENT: _("Sent"),
        MailStatus.KEPT: _("Kept (no mail server)"),
        MailStatus.FAILED: _("Failed"),
    }


@get("/admin/mail", guards=[staff(MANAGE)], name="outgoing_mail")
async def mail_list(db: Db, q: FromQuery[str] = "", status: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    found = await search_mail(db, PageRequest.clamp(page, 25), text=q.strip(), status=status)
    return Template(
        template_name="staff/mail_list.html",
        context={"page": found, "q": q, "status": status, "labels": status_labels()},
    )


@get("/admin/mail/{mail_id:uuid}", guards=[staff(MANAGE)], name="outgoing_mail_detail")
async def mail_detail(db: Db, mail_id: FromPath[UUID]) -> Template:
    view = await get_mail(db, mail_id)
    if view is None:
        raise NotFoundException()
    text, html = view.mail.text_body, view.mail.html_body
    if not view.link_visible:
        text, html = redact_links(text), redact_links(html)
    context: dict[str, Any] = {
        "view": view,
        "mail": view.mail,
        "text": text,
        "html": html,
        "labels": status_labels(),
        # kept mail went nowhere: its links are offered here, outside the sandboxed preview
        "links": sorted(set(_LINK.findall(text))) if view.link_visible else [],
    }
    return Template(template_name="staff/mail_detail.html", context=context)


MAIL_ROUTES = [mail_list, mail_detail]
