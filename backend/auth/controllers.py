"""API authentication: exchange credentials for a short-lived bearer token; who am I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from backend.audit.service import Actor, record
from backend.auth import service
from backend.auth.middleware import tenant_of
from backend.auth.schemas import Me, TokenRequest, TokenResponse
from backend.authz.guards import any_member, principal_of
from backend.billing.guards import AUTH
from tenants.context import TenantContext


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/token", status_code=200, security=[], opt=AUTH)
    async def token(self, request: Request[Any, Any, Any], data: JSONBody[TokenRequest]) -> TokenResponse:
        """A bearer token for this workspace (the host's tenant), valid for a few minutes."""
        state = request.app.state
        tenant = tenant_of(request.scope)
        if tenant is None:
            raise NotAuthorizedException()
        max_failures = state.settings.login_max_failures_per_hour
        refused: service.LoginRefused | None = None
        async with state.db.transaction(TenantContext.system(tenant.id)) as session:
            try:
                principal = await service.authenticate_member(
                    session, tenant.id, data.email, data.password, max_failures=max_failures
                )
            except service.LoginRefused as refusal:
                refused = refusal  # raised only after the block, so the recorded failure is committed
            else:
                actor = Actor.of(principal)
                await record(session, "auth.api_token", "membership", principal.membership_id, actor=actor)
        if refused is not None:
            if refused.throttled:
                raise HTTPException(status_code=HTTP_429_TOO_MANY_REQUESTS, detail="Too many failed attempts")
            raise NotAuthorizedException(detail="Invalid e-mail or password")
        access_token, expires_in = state.tokens.issue(principal)
        return TokenResponse(access_token=access_token, expires_in=expires_in)

    @get("/me", guards=[any_member])
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        user = principal_of(request)
        return Me(
            identity_id=user.identity_id,
            membership_id=user.membership_id,
            tenant_id=user.tenant_id,
            email=user.email,
            name=user.name,
            kind=user.kind,
            party_id=user.party_id,
            roles=sorted(user.roles),
        )
