"""Errors in the portal style: 401 sends a page visitor to the login page, 403/404/5xx render a
page, the API gets JSON. A 500 is logged with its traceback and never shows one."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR

from backend.kit.asgi import Receive, Scope, Send
from backend.kit.errors import DomainError
from backend.kit.i18n import negotiate, set_locale
from backend.kit.urls import API_PREFIX
from portals.shared.forms import FormRejected
from portals.shared.templating import environment
from tenants.isolation import AccessChanged

log = logging.getLogger("merkato.web")


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith(API_PREFIX)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if _is_api(request):
        body: dict[str, Any] = {"status_code": status, "detail": exc.detail}
        if exc.extra:
            body["extra"] = exc.extra
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=exc.headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path=f"/login?next={quote(target, safe='')}")
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
    if status == HTTP_400_BAD_REQUEST:
        log.info("bad request on %s: %s", request.url.path, exc.detail)
    template = f"errors/{status}.html" if status in (400, 403, 404, 405, 409, 413, 429) else "errors/500.html"
    template = getattr(exc, "template", template)  # an error with a page of its own
    # a refusal with words of its own (backend/authz/guards.py Refused) says them on the page
    context = {"status": status, "reason": getattr(exc, "reason", None)}
    return Template(template_name=template, context=context, status_code=status)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _is_api(request):
        return Response(
            {"status_code": 500, "detail": "Internal Server Error"},
            status_code=HTTP_500_INTERNAL_SERVER_ERROR,
            media_type=MediaType.JSON,
        )
    return Template(template_name="errors/500.html", context={"status": 500}, status_code=500)


def access_changed(request: Request[Any, Any, Any], exc: AccessChanged) -> Response[Any]:
    """A bearer token whose login changed since it was issued (password, roles, access): 401,
    like a token that was never valid; the client logs in again."""
    log.info("token refused on %s: its login changed since it was issued", request.url.path)
    return http_error(request, NotAuthorizedException(detail="This token is no longer valid: log in again"))


def form_rejected(request: Request[Any, Any, Any], exc: FormRejected) -> Response[Any]:
    log.info("step refused on %s (%s): %s", request.url.path, exc.status_code, exc.__cause__)
    return Template(template_name=exc.template, context=exc.context, status_code=exc.status_code)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A refusal that no form page showed (an API call, a step without a form): its own status,
    with its message and field messages for the API, instead of a server error."""
    extra = dict(exc.errors) or None
    return http_error(request, HTTPException(status_code=exc.status_code, detail=exc.message, extra=extra))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    FormRejected: form_rejected,
    DomainError: domain_error,
    AccessChanged: access_changed,
    HTTPException: http_error,
    Exception: server_error,
}


async def unknown_workspace(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer for a host naming no workspace (served outside either Litestar app)."""
    if scope["type"] != "http":
        return
    headers = dict(scope.get("headers", ()))
    set_locale(negotiate(accept_language=headers.get(b"accept-language", b"").decode("latin-1")))
    body = environment().get_template("errors/unknown_workspace.html").render().encode()
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
