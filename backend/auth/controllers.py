"""API authentication: exchange credentials for a short-lived bearer token; who am I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from backend.audit.service import Actor, record
from backend.auth import links, service
from backend.auth.origins import client_address
from backend.auth.schemas import Me, TokenRequest, TokenResponse
from backend.auth.steps import elevated_step
from backend.authz.guards import any_member
from backend.authz.workspace import AUTH
from backend.dependencies import CurrentUser, Db, HostTenant
from backend.kit.api import refusals
from backend.models import Identity, LinkPurpose, Membership


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    # security [{}]: no credentials needed (an empty list would leave the document-wide bearer token)
    @post("/token", status_code=200, security=[{}], opt=AUTH, responses=refusals(400, 401, 403, 413, 429))
    async def token(
        self, request: Request[Any, Any, Any], tenant: HostTenant, data: JSONBody[TokenRequest]
    ) -> TokenResponse:
        """A bearer token for this workspace (the host's tenant), valid for a few minutes."""
        state = request.app.state
        if tenant is None:
            raise NotAuthorizedException()
        max_failures = state.settings.login_max_failures_per_hour
        refused: service.LoginRefused | None = None
        async with elevated_step(state.db, tenant.id) as session:
            try:
                principal = await service.authenticate_member(
                    session,
                    tenant.id,
                    data.email,
                    data.password,
                    client=client_address(request),
                    max_failures=max_failures,
                )
            except service.LoginRefused as refusal:
                refused = refusal  # raised only after the block, so the recorded failure is committed
                if refusal.shielded_identity is not None:
                    await links.ask(session, LinkPurpose.UNLOCK, data.email, workspace_id=tenant.id)
            else:
                actor = Actor.of(principal)
                await record(session, "auth.api_token", "membership", principal.membership_id, actor=actor)
        if refused is not None:
            if refused.throttled:
                headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
                raise HTTPException(
                    status_code=HTTP_429_TOO_MANY_REQUESTS, detail=service.refusal_message(refused), headers=headers
                )
            raise NotAuthorizedException(detail="Invalid e-mail or password")
        access_token, expires_in = state.tokens.issue(principal)
        return TokenResponse(access_token=access_token, expires_in=expires_in)

    @get("/me", guards=[any_member], responses=refusals(401, 403))
    async def me(self, db: Db, user: CurrentUser) -> Me:
        """Who the token is for, as the database says now (a token whose login changed since it
        was issued is refused on this read, like on every other)."""
        membership = await db.get(Membership, (user.tenant_id, user.membership_id))
        identity = await db.get(Identity, user.identity_id)
        if membership is None or identity is None:
            raise NotAuthorizedException()
        return Me(
            identity_id=identity.id,
            membership_id=membership.id,
            tenant_id=membership.tenant_id,
            email=identity.email,
            name=identity.full_name,
            kind=membership.kind,
            party_id=membership.party_id,
            roles=sorted(membership.roles),
        )
