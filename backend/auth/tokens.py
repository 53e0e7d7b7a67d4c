"""Opaque secrets for cookies and tickets (we store only their SHA-256) and signed API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from backend.authz.principal import Principal

ISSUER = "merkato"
_ALGORITHM = "HS256"


def new_secret() -> tuple[str, bytes]:
    """A random token for the client and the hash we keep."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ApiTokens:
    """Short-lived HS256 bearer tokens; the tenant travels inside the signed claims.

    A client sends the same token with every call for its lifetime, so verified tokens are
    remembered (bounded, and only until they expire): the signature is checked once, not per call.
    """

    _REMEMBERED = 4096

    def __init__(self, secret_key: str, minutes: int) -> None:
        self.minutes = minutes
        # a dedicated derivation so the session secret and the token key are never the same bytes
        self._key = OctKey.import_key(hashlib.sha256(b"merkato-api-token:" + secret_key.encode()).digest())
        self._verified: OrderedDict[str, tuple[int, Principal]] = OrderedDict()

    def issue(self, principal: Principal) -> tuple[str, int]:
        now = int(time.time())
        expires_in = self.minutes * 60
        claims = {
            "iss": ISSUER,
            "sub": str(principal.identity_id),
            "tid": str(principal.tenant_id),
            "mid": str(principal.membership_id),
            "kind": principal.kind,
            "pid": str(principal.party_id) if principal.party_id else None,
            "roles": sorted(principal.roles),
            "email": principal.email,
            "name": principal.name,
            # the epochs the login had: the request's first round trip refuses the token once
            # the password, the roles or the access changed (tenants/isolation.begin_sql)
            "ce": principal.identity_epoch,
            "ae": principal.access_epoch,
            "iat": now,
            "exp": now + expires_in,
        }
        return jwt.encode({"alg": _ALGORITHM}, claims, self._key, algorithms=[_ALGORITHM]), expires_in

    def verify(self, token: str) -> Principal | None:
        now = int(time.time())
        remembered = self._verified.get(token)
        if remembered is not None:
            expires, principal = remembered
            if expires > now:
                return principal
            del self._verified[token]
        checked = self._check(token)
        if checked is not None:
            self._verified[token] = checked
            if len(self._verified) > self._REMEMBERED:
                self._verified.popitem(last=False)
            return checked[1]
        return None

    def _check(self, token: str) -> tuple[int, Principal] | None:
        try:
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM]).claims
            jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True}).validate(claims)
            return int(claims["exp"]), Principal(
                tenant_id=UUID(claims["tid"]),
                identity_id=UUID(claims["sub"]),
                membership_id=UUID(claims["mid"]),
                kind=claims["kind"],
                party_id=UUID(claims["pid"]) if claims.get("pid") else None,
                roles=frozenset(claims["roles"]),
                email=claims["email"],
                name=claims["name"],
                identity_epoch=int(claims["ce"]),
                access_epoch=int(claims["ae"]),
                from_token=True,
            )
        except (JoseError, KeyError, ValueError, TypeError):
            return None
