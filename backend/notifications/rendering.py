"""E-mail templates: subject, plain text and HTML from one pair of Jinja files per e-mail,
rendered in the recipient's language with the tenant's name as branding.

`email/<name>.txt` extends `email/_layout.txt` and defines the `subject` block next to the body;
`email/<name>.html` extends `email/_layout.html`. Every text goes through gettext like the pages.

A value only the recipient may see (the secret of a one-time link) enters a template's context as
a `Secret`, which knows what may be shown in its place. Every mail is rendered with the secrets
masked — the copy that is stored and shown — and, when it carries any, once more with the real
values, for the mail actor alone (see sealing.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

from backend.kit.i18n import in_locale, translated_environment

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MASK = "…"


@dataclass(frozen=True, slots=True)
class Secret:
    """A value for the recipient's eyes only, and what anyone else may see instead. As text (in a
    template, a log line, an f-string) it is the shown value: only the mail actor's render of the
    real message uses `value`."""

    value: str = field(repr=False)
    shown: str

    def __str__(self) -> str:
        return self.shown


def secret_link(url: str, secret: str) -> Secret:
    """A one-time link whose secret (a query parameter or a path segment) is masked when shown."""
    if not secret or secret not in url:
        raise ValueError("the secret must be part of the link")
    return Secret(value=url, shown=url.replace(secret, MASK))


def has_secrets(context: Mapping[str, Any]) -> bool:
    return any(isinstance(value, Secret) for value in context.values())


def shown(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as anyone may read it: every secret masked."""
    return {name: value.shown if isinstance(value, Secret) else value for name, value in context.items()}


def revealed(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as the recipient reads it."""
    return {name: value.value if isinstance(value, Secret) else value for name, value in context.items()}


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
    """The mail as its context's plain values make it (pass `shown(...)` or `revealed(...)`)."""
    env = environment()
    with in_locale(locale) as chosen:
        values = {**context, "tenant_name": tenant_name, "lang": html_lang(chosen)}
        text_template = env.get_template(f"email/{template}.txt")
        subject = "".join(text_template.blocks["subject"](text_template.new_context(values)))
        subject = " ".join(subject.split())  # one line, whatever the template's layout
        text = text_template.render(values)
        html = env.get_template(f"email/{template}.html").render({**values, "subject": subject})
    return RenderedMail(locale=chosen, subject=subject, text=text, html=html)
