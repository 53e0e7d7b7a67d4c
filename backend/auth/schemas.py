"""API shapes for tokens and the current user."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from backend.kit.forms import text


class TokenRequest(msgspec.Struct):
    email: Annotated[str, text(320, min_length=3)]
    password: Annotated[str, text(1000, min_length=1)]


class TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"


class Me(msgspec.Struct):
    identity_id: UUID
    membership_id: UUID
    tenant_id: UUID
    email: str
    name: str
    kind: str
    party_id: UUID | None
    roles: list[str]
