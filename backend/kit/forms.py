"""Input rules and form handling: the rules a field's text must keep, stated once as msgspec
constraints (so the API's OpenAPI document says exactly what is accepted, and forms check the same),
binding posted fields to a msgspec Struct, and collecting field-level errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from itertools import groupby
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec
from babel import Locale
from babel.numbers import list_currencies

from backend.kit.errors import DomainError
from backend.kit.i18n import gettext as _

FormT = TypeVar("FormT", bound=msgspec.Struct)

COUNTRIES = frozenset(str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha())
CURRENCIES = frozenset(list_currencies())


def _any_case(codes: Iterable[str]) -> str:
    """A pattern matching exactly these upper-case letter codes, in either case, written as a tree
    of their letters (`[Dd](?:[Ee]|[Kk])`) so that it stays short enough to read in the API document."""
    return f"^{_letter_tree(sorted(codes))}$"


def _letter_tree(codes: list[str]) -> str:
    if all(len(code) == 1 for code in codes):
        return "[" + "".join(code + code.lower() for code in codes) + "]"
    branches = [
        f"[{first}{first.lower()}]{_letter_tree([code[1:] for code in group])}"
        for first, group in groupby(codes, key=lambda code: code[0])
    ]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


# PostgreSQL ends a string at NUL and refuses to store one: text with it is refused at the door
# with a field message, never sent to the database (where it would be a server error).
STORABLE = r"^[^\x00]*$"
# Python's \s spelled out: the API document's regular expressions are JavaScript's, whose \s differs
_SPACE = r"\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ADDRESS_PART = rf"[^@{_SPACE}\x00]+"
# one @, a dot in the domain, no spaces (and nothing PostgreSQL cannot store)
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
EMAIL = re.compile(EMAIL_PATTERN)
# 254: the longest address SMTP can carry (RFC 5321), within every column that stores one
EMAIL_MAX_LENGTH = 254


def _refusal(message: Callable[[], str]) -> dict[str, Any]:
    """Meta(extra=...) of a coded rule with a message of its own (called when shown, so it is in the
    reader's language) for whatever is wrong with a value beyond being missing."""
    return {"refusal": message}


def _country_refusal() -> str:
    return _("Choose a country (two-letter ISO code).")


def _currency_refusal() -> str:
    return _("Choose a currency (three-letter ISO 4217 code).")


def _email_refusal() -> str:
    return _("Enter a valid e-mail address.")


def _unstorable() -> str:
    return _("Remove the NUL character (an invisible control character) from this text.")


def text(max_length: int, *, min_length: int = 0) -> msgspec.Meta:
    """The constraints of a free-text field: its length, and only text PostgreSQL can store."""
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=STORABLE)


CountryCode = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=2,
        pattern=_any_case(COUNTRIES),
        description="ISO 3166-1 alpha-2 country code (either case)",
        examples=["DE"],
        extra=_refusal(_country_refusal),
    ),
]
CurrencyCode = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=3,
        pattern=_any_case(CURRENCIES),
        description="ISO 4217 currency code (either case)",
        examples=["EUR"],
        extra=_refusal(_currency_refusal),
    ),
]
# an address, or nothing where the address is optional
OptionalEmail = Annotated[
    str,
    msgspec.Meta(
        max_length=EMAIL_MAX_LENGTH,
        pattern=f"{EMAIL_PATTERN}|^$",
        description="E-mail address, or empty",
        extra=_refusal(_email_refusal),
    ),
]


class FieldErrors(dict[str, str]):
    """field name -> message in the reader's language; empty means valid. A text field whose length
    is checked is also refused if PostgreSQL could not store it (the STORABLE rule)."""

    def require(self, field: str, value: str) -> bool:
        if not value:
            self[field] = _("This field is required.")
            return False
        return True

    def email(self, field: str, value: str) -> None:
        if self.require(field, value) and (len(value) > EMAIL_MAX_LENGTH or not EMAIL.match(value)):
            self[field] = _email_refusal()

    def country(self, field: str, value: str) -> None:
        if self.require(field, value) and value not in COUNTRIES:
            self[field] = _country_refusal()

    def currency(self, field: str, value: str) -> None:
        if self.require(field, value) and value not in CURRENCIES:
            self[field] = _currency_refusal()

    def max_length(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self[field] = _("At most %(limit)d characters.") % {"limit": limit}
        elif "\x00" in value:
            self[field] = _unstorable()


def field_errors(shape: type[msgspec.Struct], values: Mapping[str, Any]) -> FieldErrors:
    """Every field of `values` checked against its declared type and constraints in `shape`, each
    on its own, so that all wrong fields get their message at once (msgspec stops at the first)."""
    errors = FieldErrors()
    for field in msgspec.structs.fields(shape):
        if field.name not in values:
            if field.required:
                errors[field.name] = _("This field is required.")
            continue
        value = values[field.name]
        try:
            msgspec.convert(value, field.type)
        except msgspec.ValidationError as wrong:
            errors[field.name] = _refusal_of(field.type, value, wrong)
    return errors


def _refusal_of(declared: Any, value: Any, wrong: msgspec.ValidationError) -> str:
    constraints = msgspec.Meta()
    if get_origin(declared) is Annotated:
        constraints = next((arg for arg in get_args(declared)[1:] if isinstance(arg, msgspec.Meta)), constraints)
    if not isinstance(value, str):
        return str(wrong)  # the wrong kind of value altogether: only a program sends one
    if not value and constraints.min_length:
        return _("This field is required.")
    if own_message := (constraints.extra or {}).get("refusal"):
        return str(own_message())
    if constraints.max_length is not None and len(value) > constraints.max_length:
        return _("At most %(limit)d characters.") % {"limit": constraints.max_length}
    if constraints.pattern == STORABLE:
        return _unstorable()
    return str(wrong)


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
