"""The login cookies: host-only (no Domain attribute), HttpOnly, SameSite=Lax, Secure in production."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from backend.auth import service
from backend.auth.middleware import LOCALE_COOKIE, SESSION_COOKIE
from backend.auth.service import NewSession
from backend.authz.principal import Principal
from backend.dependencies import Db


async def start_session(request: Request[Any, Any, Any], session: Db, principal: Principal) -> Cookie:
    """Log this browser in as `principal`: a new session (replacing the one its cookie names, if
    any) and the cookie that carries it."""
    new = await service.start_session(
        session,
        principal,
        days=request.app.state.settings.session_days,
        replacing=request.cookies.get(SESSION_COOKIE),
        user_agent=request.headers.get("user-agent"),
    )
    return session_cookie(request, new)


def session_cookie(request: Request[Any, Any, Any], new: NewSession) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=new.token,
        max_age=new.max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.production,
    )


def cleared_session_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, expires=0, httponly=True, samesite="lax")


def locale_cookie(locale: str) -> Cookie:
    return Cookie(key=LOCALE_COOKIE, value=locale, max_age=365 * 86400, samesite="lax")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never an absolute or protocol-relative URL (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
