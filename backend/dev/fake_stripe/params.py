"""Stripe's request encoding, read back: bracket-notation form fields into nested dicts and lists,
plus the typed readers the endpoints use, which answer bad input the way Stripe does (a 400 naming
the parameter).

The SDK sends `line_items[0][price]=…`, `metadata[tenant_id]=…`, `expand[0]=…`, booleans as
`true`/`false` and an empty string to clear a value, in the body of a POST and in the query string
of a GET or DELETE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")
_APPEND = "\x00"  # marks a `[]` segment: "the next index of this array"


class StripeApiError(Exception):
    """An error answered in Stripe's shape, {"error": {type, message, param, code}}, which the SDK
    turns into its own exception classes by status and type (400/404 → InvalidRequestError, 402 →
    CardError, 401 → AuthenticationError, type idempotency_error → IdempotencyError)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's own field name
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.decline_code = decline_code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        return {"error": error}


def no_such(kind: str, object_id: str, param: str | None = "id", status: int = 404) -> StripeApiError:
    """Stripe's answer for an id it does not know: 404 for the object in the path, 400 for one named
    by a parameter."""
    return StripeApiError(status, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def parse_form(raw: bytes | str) -> Params:
    """A urlencoded body or query string as nested params."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return nest(parse_qsl(text, keep_blank_values=True))


def nest(pairs: Iterable[tuple[str, str]]) -> Params:
    """Flat `a[b][0][c]` keys as nested dicts; objects whose keys are all indexes become lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        parts = _split_key(raw_key)
        if not parts:
            continue
        node = root
        for position, part in enumerate(parts):
            key = f"{_APPEND}{len(node):06d}" if part == "" else part
            if position == len(parts) - 1:
                node[key] = value
                break
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise StripeApiError(
                    400, f"Invalid value for {raw_key}: it is both a value and an object.", param=raw_key
                )
            node = child
    result = _listify(root, None)
    assert isinstance(result, dict)
    return result


def _split_key(raw_key: str) -> list[str]:
    parts: list[str] = []
    for match in _KEY.finditer(raw_key):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    return parts


def _listify(node: Any, name: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, key) for key, value in node.items()}
    # metadata keys are free text, so "metadata[0]=x" stays a key rather than becoming an array
    if name != "metadata" and converted and all(key.isdigit() or key.startswith(_APPEND) for key in converted):
        ordered = sorted(converted.items(), key=lambda kv: (kv[0].startswith(_APPEND), int(kv[0].lstrip(_APPEND))))
        return [value for _, value in ordered]
    return {key.lstrip(_APPEND): value for key, value in converted.items()}


def get_str(params: Mapping[str, Any], name: str, *, required: bool = False, label: str | None = None) -> str | None:
    value = params.get(name)
    label = label or name
    if value is None or value == "":
        if required:
            raise StripeApiError(400, f"Missing required param: {label}.", param=label, code="parameter_missing")
        return None
    if not isinstance(value, str):
        raise StripeApiError(400, f"Invalid string: {label}", param=label, code="parameter_invalid_string")
    return value


def require_str(params: Mapping[str, Any], name: str, *, label: str | None = None) -> str:
    value = get_str(params, name, required=True, label=label)
    assert value is not None
    return value


def get_int(params: Mapping[str, Any], name: str, *, label: str | None = None) -> int | None:
    value = params.get(name)
    label = label or name
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise StripeApiError(400, f"Invalid integer: {value}", param=label, code="parameter_invalid_integer")


def get_bool(params: Mapping[str, Any], name: str, *, label: str | None = None) -> bool | None:
    value = params.get(name)
    label = label or name
    if value is None or value == "":
        return None
    if value in ("true", "false"):
        return bool(value == "true")
    raise StripeApiError(400, f"Invalid boolean: {value}", param=label, code="parameter_invalid_boolean")


def get_dict(params: Mapping[str, Any], name: str, *, label: str | None = None) -> dict[str, Any]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeApiError(400, f"Invalid object: {label or name}", param=label or name)
    return value


def get_list(params: Mapping[str, Any], name: str, *, label: str | None = None) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise StripeApiError(400, f"Invalid array: {label or name}", param=label or name)
    return value


def merge_metadata(current: Mapping[str, str], value: Any, param: str = "metadata") -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value removes its key, `metadata=""` clears all."""
    if value is None:
        return dict(current)
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeApiError(400, "Invalid object", param=param)
    merged = dict(current)
    for key, item in value.items():
        if not isinstance(item, str):
            raise StripeApiError(400, f"Invalid string: {param}[{key}]", param=f"{param}[{key}]")
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    return merged
