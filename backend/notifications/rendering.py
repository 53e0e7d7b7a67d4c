"""E-mail templates: subject, plain text and HTML from one pair of Jinja files per e-mail,
rendered in the recipient's language with the tenant's name as branding.

`email/<name>.txt` extends `email/_layout.txt` and defines the `subject` block next to the body;
`email/<name>.html` extends `email/_layout.html`. Every text goes through gettext like the pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

from backend.kit.i18n import in_locale, translated_environment

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# One-time links carry their secret in the `token` query parameter (see backend/auth/tasks.py).
_TOKEN_PARAMETER = re.compile(r"(\btoken=)[A-Za-z0-9_\-]+")
REDACTED = "…"


@cache
def environment() -> Environment:
    # only the HTML part is escaped (the default): the text part is sent as text/plain;
    # a missing variable in an e-mail is a bug to see in tests, not a blank in a customer's inbox
    return translated_environment(TEMPLATE_DIR, undefined=StrictUndefined, keep_trailing_newline=True)


def html_lang(locale: str) -> str:
    """The BCP 47 tag for a catalog name (zh_Hans -> zh-Hans), as in <html lang> and Content-Language."""
    return locale.replace("_", "-")


@dataclass(frozen=True, slots=True)
class RenderedMail:
    locale: str
    subject: str
    text: str
    html: str


def render_mail(template: str, locale: str, context: Mapping[str, Any], *, tenant_name: str) -> RenderedMail:
    env = environment()
    with in_locale(locale) as chosen:
        values = {**context, "tenant_name": tenant_name, "lang": html_lang(chosen)}
        text_template = env.get_template(f"email/{template}.txt")
        subject = "".join(text_template.blocks["subject"](text_template.new_context(values)))
        subject = " ".join(subject.split())  # one line, whatever the template's layout
        text = text_template.render(values)
        html = env.get_template(f"email/{template}.html").render({**values, "subject": subject})
    return RenderedMail(locale=chosen, subject=subject, text=text, html=html)


def redact_links(body: str) -> str:
    """The body with every one-time link's secret blanked out (for storage once delivered)."""
    return _TOKEN_PARAMETER.sub(lambda match: match.group(1) + REDACTED, body)
