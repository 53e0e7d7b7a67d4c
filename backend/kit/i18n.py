"""Translations (Babel gettext catalogs under backend/locale) and locale-aware formatting.

The current locale lives in a context variable set once per request, so templates, services
and error messages all speak the reader's language without passing it around.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("en", "zh_Hans")
LOCALE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
DEFAULT_LOCALE = "en"

_current: ContextVar[str] = ContextVar("merkato_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


@contextmanager
def in_locale(locale: str) -> Iterator[str]:
    """Speak `locale` (or the default, if unsupported) inside the block, then the caller's again."""
    previous = current_locale()
    chosen = locale if locale in LOCALES else DEFAULT_LOCALE
    set_locale(chosen)
    try:
        yield chosen
    finally:
        set_locale(previous)


def translated_environment(directories: Path | Sequence[Path], **options: Any) -> Environment:
    """A Jinja environment whose {{ _("…") }} speaks the current locale: the one set-up for pages,
    e-mails and documents (each adds its own filters and options)."""
    env = Environment(
        loader=FileSystemLoader(directories),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["country"] = country_name
    return env


def negotiate(*candidates: str | None, accept_language: str | None = None, fallback: str | None = None) -> str:
    """The first supported locale among explicit choices, then the browser's preferences, then
    the fallback (the workspace's language)."""
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh_Hans"
            if tag.startswith("en"):
                return "en"
    return fallback if fallback in LOCALES else DEFAULT_LOCALE


def country_name(code: str) -> str:
    """A two-letter country code as the reader's language names it (the code if unknown)."""
    name: str = Locale.parse(_current.get()).territories.get(code, code)
    return name


def moment(value: datetime, timezone: str) -> str:
    """A point in time in the given time zone (the tenant's), written the reader's way."""
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(timezone), locale=Locale.parse(_current.get()))


def money(amount: Decimal, currency: str) -> str:
    """An amount with its ISO 4217 currency, in the reader's locale."""
    return format_currency(amount, currency, locale=Locale.parse(_current.get()))
