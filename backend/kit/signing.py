"""Values signed with the server's secret key, for a limited time: a registration's cookie, an
invitation link. The purpose is part of what is signed, so a value made for one use is worthless
for another."""

from __future__ import annotations

import hashlib
import hmac
import time


def _mac(secret: str, purpose: str, body: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}\n{body}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, purpose: str, payload: str, lifetime: int) -> str:
    """`payload` (URL- and cookie-safe text) with its expiry and signature: payload.expires.mac"""
    body = f"{payload}.{int(time.time()) + lifetime}"
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(secret: str, purpose: str, value: str) -> str | None:
    """The payload of a value `sign` made for `purpose`, or None if it is forged or expired."""
    body, _dot, signature = value.rpartition(".")
    if not body or not hmac.compare_digest(_mac(secret, purpose, body), signature):
        return None
    payload, _dot, expires = body.rpartition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    return payload
