"""Legacy usage records through the SDK (acacia): reporting, errors, idempotency, version gate."""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.api.usage_helpers import (
    DAY,
    metered_item,
    metered_price,
    now,
    report,
    subscribe,
    summaries,
    totals,
)
from tests.conftest import err_of

PERIOD_START = (
    "Cannot create the usage record with this timestamp because timestamps must be after the "
    "subscription's last invoice period (or current period start time)."
)


def _error(exc: pytest.ExceptionInfo[stripe.StripeError], status: int) -> dict[str, object]:
    assert exc.value.http_status == status
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    return e


# --- success --------------------------------------------------------------------------------


def test_report_returns_the_usage_record(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    ts = sub["current_period_start"] + 10
    rec = report(acacia, si, quantity=42, timestamp=ts, action="increment")
    assert rec.id.startswith("mbur_")
    assert rec.to_dict() == {
        "id": rec.id,
        "livemode": False,
        "object": "usage_record",
        "quantity": 42,
        "subscription_item": si,
        "timestamp": ts,
    }


def test_timestamp_defaults_to_now_and_accepts_now(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    before = now()
    a = report(acacia, si, quantity=1)
    b = report(acacia, si, quantity=1, timestamp="now")
    assert before <= a.timestamp <= now()
    assert before <= b.timestamp <= now()
    assert a.id != b.id  # a new id per call
    assert totals(acacia, si) == [2]


def test_quantity_in_response_is_the_value_sent_not_the_bucket_total(
    acacia: stripe.StripeClient,
) -> None:
    sub, si = metered_item(acacia)
    ts = sub["current_period_start"] + 1
    report(acacia, si, quantity=5, timestamp=ts)
    again = report(acacia, si, quantity=3, timestamp=ts)
    assert again.quantity == 3
    assert totals(acacia, si) == [8]


def test_small_future_offset_is_tolerated(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    ts = now() + 120  # integrations add a few minutes to dodge clock drift
    assert report(acacia, si, quantity=2, timestamp=ts).timestamp == ts
    assert totals(acacia, si) == [2]


def test_subscription_item_is_not_expandable(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, expand=["subscription_item"])
    e = _error(exc, 400)
    assert (e["param"], e["message"]) == (
        "expand",
        "This property cannot be expanded (subscription_item).",
    )
    assert totals(acacia, si) == [0]  # expand is checked before anything is written


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # increments 5+2 at t1 (then set to 4), 10 at t2, 1 at t3
        ("sum", 4 + 10 + 1),
        ("last_during_period", 1),
        ("last_ever", 1),
        ("max", 10),
    ],
)
def test_set_and_increment_under_each_aggregate_usage(
    acacia: stripe.StripeClient, mode: str, expected: int
) -> None:
    sub, si = metered_item(acacia, mode)
    t0 = sub["current_period_start"]
    report(acacia, si, quantity=5, timestamp=t0 + 1)
    report(acacia, si, quantity=2, timestamp=t0 + 1, action="increment")
    report(acacia, si, quantity=4, timestamp=t0 + 1, action="set")
    report(acacia, si, quantity=10, timestamp=t0 + 2)
    report(acacia, si, quantity=1, timestamp=t0 + 3, action="set")
    assert totals(acacia, si) == [expected]


def test_set_replaces_only_the_bucket_at_its_timestamp_under_sum(
    acacia: stripe.StripeClient,
) -> None:
    sub, si = metered_item(acacia, "sum")
    t0 = sub["current_period_start"]
    report(acacia, si, quantity=100, timestamp=t0 + 1)
    report(acacia, si, quantity=50, timestamp=t0 + 2)
    report(acacia, si, quantity=7, timestamp=t0 + 2, action="set")
    assert totals(acacia, si) == [107]


def test_idempotent_replay_does_not_add_usage_twice(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    key = str(uuid.uuid4())
    url = f"/v1/subscription_items/{si}/usage_records"
    first = acacia.raw_request("post", url, quantity=9, idempotency_key=key)
    second = acacia.raw_request("post", url, quantity=9, idempotency_key=key)
    assert first.headers.get("Idempotent-Replayed") is None
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert second.data == first.data  # same record id, same body
    assert totals(acacia, si) == [9]


def test_idempotency_key_reused_with_other_quantity(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    key = str(uuid.uuid4())
    url = f"/v1/subscription_items/{si}/usage_records"
    acacia.raw_request("post", url, quantity=1, idempotency_key=key)
    with pytest.raises(stripe.IdempotencyError) as exc:
        acacia.raw_request("post", url, quantity=2, idempotency_key=key)
    assert exc.value.http_status == 400
    assert err_of(exc)["type"] == "idempotency_error"
    assert totals(acacia, si) == [1]


# --- parameter errors ------------------------------------------------------------------------


def test_unknown_item_is_404(acacia: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, "si_nope", quantity=1)
    e = _error(exc, 404)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "subscription_item",
        "No such subscription item: 'si_nope'",
    )


def test_deleted_item_is_404(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    report(acacia, si, quantity=3)
    other = metered_price(acacia)
    acacia.v1.subscription_items.create({"subscription": sub.id, "price": other.id})
    acacia.v1.subscription_items.delete(si, {"clear_usage": True})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1)
    e = _error(exc, 404)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "subscription_item",
        f"No such subscription item: '{si}'",
    )


def test_quantity_missing(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si)
    e = _error(exc, 400)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "quantity",
        "Missing required param: quantity.",
    )


def test_quantity_not_an_integer(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity="1.5")
    e = _error(exc, 400)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_invalid_integer",
        "quantity",
        "Invalid integer: 1.5",
    )


def test_negative_quantity(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=-1)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "quantity"
    assert e["message"] == "Invalid quantity: must be greater than or equal to 0"
    assert totals(acacia, si) == [0]


def test_action_not_in_enum(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, action="add")
    e = _error(exc, 400)
    assert "code" not in e
    assert (e["param"], e["message"]) == (
        "action",
        "Invalid action: must be one of increment or set",
    )


def test_timestamp_not_an_integer(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp="yesterday")
    e = _error(exc, 400)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_invalid_integer",
        "timestamp",
        "Invalid integer: yesterday",
    )


def test_unknown_parameter(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, customer="cus_x")
    e = _error(exc, 400)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_unknown",
        "customer",
        "Received unknown parameter: customer",
    )


# --- business rules --------------------------------------------------------------------------


def test_timestamp_before_the_current_period(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia, backdate_start_date=now() - 40 * DAY)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 3600)
    e = _error(exc, 400)
    assert "code" not in e
    assert (e["param"], e["message"]) == ("timestamp", PERIOD_START)
    assert totals(acacia, si)[0] == 0


def test_timestamp_at_the_period_end(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_end"])
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "timestamp"
    assert e["message"] == (
        "Cannot create the usage record with this timestamp because timestamps must be before "
        "the subscription's current period end time."
    )


def test_timestamp_in_the_future(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=now() + 3600)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "timestamp"
    assert e["message"] == (
        "Cannot create the usage record with this timestamp because timestamps must not be in "
        "the future."
    )


def test_licensed_item_is_not_a_legacy_metered_item(acacia: stripe.StripeClient) -> None:
    price = metered_price(acacia, usage_type="licensed")
    _, si = subscribe(acacia, price.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "subscription_item"
    assert e["message"] == (
        f"Cannot create a usage record for `{si}` because it is not on the legacy metered "
        "billing system. Call /v1/billing/meter_events instead."
    )


def _meter_item(acacia: stripe.StripeClient) -> str:
    meter = acacia.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": f"api_call_{uuid.uuid4().hex[:8]}",
            "default_aggregation": {"formula": "sum"},
        }
    )
    price = acacia.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 7,
            "product_data": {"name": "API calls"},
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    return subscribe(acacia, price.id)[1]


def test_meter_backed_item_points_to_meter_events(acacia: stripe.StripeClient) -> None:
    si = _meter_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "subscription_item"
    assert e["message"] == (
        f"Cannot create a usage record for `{si}` because it is not on the legacy metered "
        "billing system. Call /v1/billing/meter_events instead."
    )


def test_meter_backed_item_has_no_summaries(acacia: stripe.StripeClient) -> None:
    si = _meter_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(acacia, si)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "subscription_item"
    assert e["message"] == (
        f"Cannot list usage record summaries for `{si}` because it is not on the legacy metered "
        "billing system. Call /v1/billing/meters/:id/event_summaries instead."
    )


def test_canceled_subscription_rejects_usage(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    acacia.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1)
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "subscription_item"
    assert e["message"] == (
        f"Cannot create a usage record for '{si}' because the subscription item is no longer "
        "active."
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        {"billing_thresholds": {"amount_gte": 10_000}},
        {"items_thresholds": {"usage_gte": 100}},
    ],
)
def test_set_is_refused_with_billing_thresholds(
    acacia: stripe.StripeClient, thresholds: dict[str, dict[str, int]]
) -> None:
    price = metered_price(acacia)
    cust = acacia.v1.customers.create({})
    item: dict[str, object] = {"price": price.id}
    extra: dict[str, object] = {}
    if "items_thresholds" in thresholds:
        item["billing_thresholds"] = thresholds["items_thresholds"]
    else:
        extra = thresholds
    sub = acacia.v1.subscriptions.create({"customer": cust.id, "items": [item], **extra})  # type: ignore[typeddict-item]
    si = sub["items"].data[0].id
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, action="set")
    e = _error(exc, 400)
    assert "code" not in e
    assert e["param"] == "action"
    assert e["message"] == (
        "Only `action=increment` usage records are allowed on subscriptions with billing "
        "thresholds."
    )
    assert report(acacia, si, quantity=1, action="increment").quantity == 1
