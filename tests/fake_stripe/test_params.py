"""The fake Stripe's pure pieces: reading Stripe's bracket-notation parameters back, calendar-month
billing periods, and the webhook signature as the SDK verifies it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import stripe

from backend.dev.fake_stripe import sign
from backend.dev.fake_stripe.model import add_months, format_amount, period_boundary
from backend.dev.fake_stripe.params import StripeApiError, merge_metadata, parse_form


def _ts(year: int, month: int, day: int, hour: int = 12) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


def test_bracket_notation_becomes_nested_dicts_and_lists() -> None:
    params = parse_form(
        "mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=2&line_items[1][price]=price_2"
        "&metadata[tenant_id]=t1&metadata[0]=zero&expand[0]=subscription&expand[1]=customer"
        "&lookup_keys[]=a&lookup_keys[]=b&subscription_data[metadata][plan]=pro&empty="
    )
    assert params["line_items"] == [{"price": "price_1", "quantity": "2"}, {"price": "price_2"}]
    # metadata keys are free text, even when they look like indexes
    assert params["metadata"] == {"tenant_id": "t1", "0": "zero"}
    assert params["expand"] == ["subscription", "customer"]
    assert params["lookup_keys"] == ["a", "b"]
    assert params["subscription_data"] == {"metadata": {"plan": "pro"}}
    assert params["empty"] == ""


def test_indexes_order_numerically_not_as_text() -> None:
    pairs = "&".join(f"items[{i}][price]=p{i}" for i in range(12))
    assert [item["price"] for item in parse_form(pairs)["items"]] == [f"p{i}" for i in range(12)]


def test_a_key_that_is_both_value_and_object_is_a_400() -> None:
    with pytest.raises(StripeApiError) as caught:
        parse_form("metadata=x&metadata[a]=b")
    assert caught.value.status == 400


def test_metadata_update_merges_unsets_and_clears() -> None:
    assert merge_metadata({"a": "1", "b": "2"}, {"b": "", "c": "3"}) == {"a": "1", "c": "3"}
    assert merge_metadata({"a": "1"}, "") == {}
    assert merge_metadata({"a": "1"}, None) == {"a": "1"}


def test_months_clamp_to_the_month_and_keep_the_anchor_day() -> None:
    anchor = _ts(2026, 1, 31)
    assert add_months(anchor, 1) == _ts(2026, 2, 28)
    assert add_months(anchor, 2) == _ts(2026, 3, 31)  # back to the 31st: counted from the anchor
    assert add_months(_ts(2027, 12, 15), 1) == _ts(2028, 1, 15)
    assert add_months(_ts(2028, 1, 31), 1) == _ts(2028, 2, 29)
    assert period_boundary(anchor, "year", 1, 1) == _ts(2027, 1, 31)
    assert period_boundary(anchor, "week", 2, 1) == anchor + 14 * 86_400


def test_amounts_read_like_money() -> None:
    assert format_amount(2900, "usd") == "$29.00"
    assert format_amount(-105, "eur") == "-€1.05"
    assert format_amount(1500, "jpy") == "¥1500"
    assert format_amount(9900, "cny", ascii_only=True) == "99.00 CNY"
    assert format_amount(1234, "chf") == "12.34 CHF"


def test_signature_is_what_the_sdk_verifies() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    header = sign(payload, "whsec_abc", int(datetime.now(UTC).timestamp()))
    event = stripe.Webhook.construct_event(payload, header, "whsec_abc")
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
