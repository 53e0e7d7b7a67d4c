"""The real message of a mail that carries one-time secrets, sealed for the mail actor alone.

What outgoing_mail shows (subject, text and HTML bodies) has its secrets masked; the message the
recipient gets is kept beside it only until delivery, encrypted with AES-GCM under a key derived
from MERKATO_SECRET_KEY for this use alone (HKDF with its own label, so no other use of the secret
key — sessions, signed links, API tokens — ever shares these bytes). The seal is bound to its row:
moved to another mail, another tenant or another recipient address it no longer opens, so nobody
who can change a row can redirect the real message to themselves.
"""

from __future__ import annotations

import base64
import json
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.models import OutgoingMail
from backend.notifications.rendering import RenderedMail

_KEY_LABEL = b"merkato outgoing-mail seal v1"
_NONCE_BYTES = 12


class BrokenSeal(Exception):
    """The seal does not open: made under another secret key, altered, or moved to another row."""


@cache
def _cipher(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_LABEL).derive(secret_key.encode())
    return AESGCM(key)


def _binding(mail: OutgoingMail) -> bytes:
    return f"{mail.tenant_id}\n{mail.id}\n{mail.to_address}".encode()


def seal(mail: OutgoingMail, real: RenderedMail, secret_key: str) -> str:
    """`real` encrypted for this mail row (its tenant, id and recipient must be set)."""
    plain = json.dumps({"subject": real.subject, "text": real.text, "html": real.html}).encode()
    nonce = os.urandom(_NONCE_BYTES)
    return base64.b64encode(nonce + _cipher(secret_key).encrypt(nonce, plain, _binding(mail))).decode()


def unseal(mail: OutgoingMail, sealed: str, secret_key: str) -> RenderedMail:
    raw = base64.b64decode(sealed)
    try:
        plain = _cipher(secret_key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _binding(mail))
    except InvalidTag:
        raise BrokenSeal(f"the real message of mail {mail.id} does not open with this server's secret key") from None
    parts = json.loads(plain)
    return RenderedMail(locale=mail.locale, subject=parts["subject"], text=parts["text"], html=parts["html"])
