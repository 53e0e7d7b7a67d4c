"""Mail without an SMTP server (development, `make run`): handed to the server's operator, never to
a page. The real message is written to <MERKATO_DATA_DIR>/mail/<mail id>.eml, readable by the
server's own user only, and its links are logged to the console (logger "merkato.mail", one line
per mail), so whoever runs the server can follow an invitation or a password reset while the
workspace's admins, on the Outgoing mail page, see the masked copy like for any other mail.
"""

from __future__ import annotations

import logging
import os
import re
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

log = logging.getLogger("merkato.mail")
_LINK = re.compile(r"https?://[^\s<>\"']+")


def keep(data_dir: Path, mail_id: UUID, message: EmailMessage) -> Path:
    """Write `message` for the operator and tell the console its links; a second run overwrites."""
    folder = data_dir / "mail"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{mail_id}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # also when an earlier run left the file with other rights
        file.write(message.as_bytes())
    text = message.get_body(("plain",))
    links = list(dict.fromkeys(_LINK.findall(text.get_content()))) if text else []
    log.info("mail to %s, %r, kept in %s: %s", message["To"], message["Subject"], path, " ".join(links) or "(no links)")
    return path
