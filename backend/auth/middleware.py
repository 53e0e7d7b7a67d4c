"""Who is asking: a bearer token on /api, the session cookie on pages; and in which language.

Sets scope["user"] to a Principal (tenant host), an ApexUser (apex host) or None. Guards decide
what that may open; this middleware only establishes identity.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from backend.auth import service
from backend.auth.steps import elevated_step
from backend.authz.principal import ApexUser, Principal
from backend.kit.asgi import ASGIApp, Receive, Scope, Send
from backend.kit.i18n import negotiate, set_locale
from backend.kit.urls import API_PREFIX
from tenants.resolution import tenant_of

SESSION_COOKIE = "merkato_session"
LOCALE_COOKIE = "merkato_lang"


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)  # type: ignore[arg-type]
        state = scope["litestar_app"].state
        tenant = tenant_of(scope)
        user: Principal | ApexUser | None = None
        if tenant is not None and scope["path"].startswith(API_PREFIX):
            authorization = connection.headers.get("authorization", "")
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token:
                principal = state.tokens.verify(token.strip())
                # the token names its tenant; presenting it on another tenant's host gets nothing
                user = principal if principal and principal.tenant_id == tenant.id else None
        elif cookie := connection.cookies.get(SESSION_COOKIE):
            if tenant is not None:
                async with elevated_step(state.db, tenant.id) as session:
                    user = await service.resolve_session(session, cookie)
            else:
                # the login code's own context: RLS shows it the one apex session presented
                async with elevated_step(state.db, None) as session:
                    user = await service.resolve_apex_session(session, cookie)
        scope["user"] = user
        set_locale(
            negotiate(
                connection.cookies.get(LOCALE_COOKIE),
                user.locale if user else None,
                accept_language=connection.headers.get("accept-language"),
                fallback=tenant.locale if tenant else None,
            )
        )
        await self.app(scope, receive, send)
