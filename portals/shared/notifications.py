"""The bell: every member's own in-app notifications, on every portal (one set of pages at
/notifications for staff, supplier and customer users alike).

Everything is looked up by the logged-in member's own membership id, so somebody else's
notification answers 404 like a missing one; the party wall in the database backs this up for
supplier and customer users.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from backend.authz.guards import any_member
from backend.dependencies import CurrentUser, Db
from backend.kit.pagination import PageRequest
from backend.notifications.service import (
    is_local_link,
    list_notifications,
    mark_all_read,
    mark_read,
    unread_count,
)

Req = Request[Any, Any, Any]
PAGE = "/notifications"


@get(PAGE, guards=[any_member], name="notifications")
async def notification_list(db: Db, user: CurrentUser, page: FromQuery[int] = 1) -> Template:
    membership_id = user.membership_id
    found = await list_notifications(db, membership_id, PageRequest.clamp(page, 25))
    unread = await unread_count(db, membership_id)
    return Template(template_name="notifications/list.html", context={"page": found, "unread": unread})


@get(f"{PAGE}/bell", guards=[any_member], name="notification_bell")
async def bell(db: Db, user: CurrentUser) -> Template:
    """The bell with its unread count, for htmx to swap into the header (and poll)."""
    unread = await unread_count(db, user.membership_id)
    return Template(template_name="notifications/bell.html", context={"unread": unread})


@post(f"{PAGE}/{{notification_id:uuid}}/read", guards=[any_member], name="notification_read")
async def read_one(request: Req, db: Db, user: CurrentUser, notification_id: FromPath[UUID]) -> Response[Any]:
    """Mark it read; with open=1, go where it points (a path on this host, checked when it was made)."""
    notification = await mark_read(db, user.membership_id, notification_id)
    if notification is None:
        raise NotFoundException()
    form = await request.form()
    link = notification.link
    target = link if form.get("open") and link and is_local_link(link) else PAGE
    return Redirect(path=target, status_code=HTTP_303_SEE_OTHER)


@post(f"{PAGE}/read-all", guards=[any_member], name="notifications_read_all")
async def read_all(db: Db, user: CurrentUser) -> Response[Any]:
    await mark_all_read(db, user.membership_id)
    return Redirect(path=PAGE, status_code=HTTP_303_SEE_OTHER)


NOTIFICATION_ROUTES = [notification_list, bell, read_one, read_all]
