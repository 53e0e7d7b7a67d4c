"""HTML form handling: bind posted fields to a msgspec Struct and collect field-level errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from babel import Locale
from babel.numbers import list_currencies

from backend.kit.errors import DomainError
from backend.kit.i18n import gettext as _

FormT = TypeVar("FormT", bound=msgspec.Struct)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRIES = frozenset(str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha())
CURRENCIES = frozenset(list_currencies())


class FieldErrors(dict[str, str]):
    """field name -> message in the reader's language; empty means valid."""

    def require(self, field: str, value: str) -> bool:
        if not value:
            self[field] = _("This field is required.")
            return False
        return True

    def email(self, field: str, value: str) -> None:
        # 254: the longest address SMTP can carry (RFC 5321), within every column that stores one
        if self.require(field, value) and (len(value) > 254 or not EMAIL.match(value)):
            self[field] = _("Enter a valid e-mail address.")

    def country(self, field: str, value: str) -> None:
        if self.require(field, value) and value not in COUNTRIES:
            self[field] = _("Choose a country (two-letter ISO code).")

    def currency(self, field: str, value: str) -> None:
        if self.require(field, value) and value not in CURRENCIES:
            self[field] = _("Choose a currency (three-letter ISO 4217 code).")

    def max_length(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self[field] = _("At most %(limit)d characters.") % {"limit": limit}


class InvalidForm(DomainError):
    """A service refused a form (400); the page shows `errors` next to the fields and changes nothing."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__(next(iter(errors.values()), ""), errors)
        self.errors: FieldErrors = errors


def bind(form_type: type[FormT], data: Mapping[str, Any]) -> FormT:
    """Text fields stripped; list fields (checkbox groups) take every value; unknown fields dropped."""
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(form_type):
        if field.type == list[str]:
            getall = getattr(data, "getall", None)
            raw_values = getall(field.name, []) if getall else data.get(field.name) or []
            values[field.name] = [str(v).strip() for v in raw_values]
        elif (raw := data.get(field.name)) is not None:
            values[field.name] = str(raw).strip()
    return msgspec.convert(values, form_type, strict=False)
