"""Billing Meters through the SDK: create, retrieve, update, list, (de)activate, errors."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import err_of


def _meter(
    client: stripe.StripeClient, name: str = "api_calls", **extra: object
) -> stripe.billing.Meter:
    params = {
        "display_name": "API calls",
        "event_name": name,
        "default_aggregation": {"formula": "sum"},
        **extra,
    }
    return client.v1.billing.meters.create(params)  # type: ignore[arg-type]


def _bad_request(exc: pytest.ExceptionInfo[stripe.StripeError]) -> dict[str, object]:
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    return e


def test_create_defaults(client: stripe.StripeClient) -> None:
    m = _meter(client)
    assert m.id.startswith("mtr_")
    assert m.object == "billing.meter"
    assert m.status == "active"
    assert m.default_aggregation.formula == "sum"
    assert m.customer_mapping.event_payload_key == "stripe_customer_id"
    assert m.customer_mapping.type == "by_id"
    assert m.value_settings.event_payload_key == "value"
    assert m.event_time_window is None
    assert m.status_transitions.deactivated_at is None
    assert m.created == m.updated


def test_create_with_custom_keys_and_window(client: stripe.StripeClient) -> None:
    m = _meter(
        client,
        customer_mapping={"event_payload_key": "cust", "type": "by_id"},
        value_settings={"event_payload_key": "tokens"},
        event_time_window="hour",
        default_aggregation={"formula": "count"},
    )
    assert (m.customer_mapping.event_payload_key, m.value_settings.event_payload_key) == (
        "cust",
        "tokens",
    )
    assert (m.event_time_window, m.default_aggregation.formula) == ("hour", "count")
    again = client.v1.billing.meters.retrieve(m.id)
    assert again.to_dict() == m.to_dict()


def test_formula_last_basil_only(client: stripe.StripeClient, acacia: stripe.StripeClient) -> None:
    m = _meter(client, default_aggregation={"formula": "last"})
    assert m.default_aggregation.formula == "last"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _meter(acacia, "other", default_aggregation={"formula": "last"})
    e = _bad_request(exc)
    assert e["param"] == "default_aggregation[formula]"
    assert e["message"] == "Invalid default_aggregation[formula]: must be one of sum or count"


def test_bad_formula(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _meter(client, default_aggregation={"formula": "max"})
    e = _bad_request(exc)
    assert e["param"] == "default_aggregation[formula]"
    assert (
        e["message"] == "Invalid default_aggregation[formula]: must be one of sum, count, or last"
    )


@pytest.mark.parametrize("missing", ["display_name", "event_name", "default_aggregation"])
def test_missing_required(client: stripe.StripeClient, missing: str) -> None:
    params = {
        "display_name": "d",
        "event_name": "e",
        "default_aggregation": {"formula": "sum"},
    }
    del params[missing]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.create(params)  # type: ignore[arg-type]
    e = _bad_request(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        missing,
        f"Missing required param: {missing}.",
    )


def test_customer_mapping_needs_type(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _meter(client, customer_mapping={"event_payload_key": "c"})
    e = _bad_request(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "customer_mapping[type]")
    assert e["message"] == "Missing required param: customer_mapping[type]."


def test_event_name_too_long(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _meter(client, "x" * 101)
    e = _bad_request(exc)
    assert (e["code"], e["param"]) == ("parameter_invalid_string", "event_name")
    assert e["message"].endswith("must be at most 100 characters")


def test_event_name_belongs_to_one_meter(client: stripe.StripeClient) -> None:
    first = _meter(client)
    client.v1.billing.meters.deactivate(first.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _meter(client)  # an inactive meter still owns its event name
    e = _bad_request(exc)
    assert e["param"] == "event_name"
    assert "code" not in e
    assert e["message"] == 'A meter with event_name "api_calls" already exists.'


def test_update_display_name_only(client: stripe.StripeClient) -> None:
    m = _meter(client)
    u = client.v1.billing.meters.update(m.id, {"display_name": "Renamed"})
    assert u.display_name == "Renamed"
    assert u.event_name == "api_calls"
    for field, value in (("event_name", "other"), ("default_aggregation", {"formula": "count"})):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.billing.meters.update(m.id, {field: value})  # type: ignore[misc]
        e = _bad_request(exc)
        assert (e["code"], e["param"], e["message"]) == (
            "parameter_unknown",
            field,
            f"Received unknown parameter: {field}",
        )
    assert client.v1.billing.meters.retrieve(m.id).event_name == "api_calls"


def test_unknown_meter_404(client: stripe.StripeClient) -> None:
    for call in (
        lambda: client.v1.billing.meters.retrieve("mtr_nope"),
        lambda: client.v1.billing.meters.update("mtr_nope", {"display_name": "x"}),
        lambda: client.v1.billing.meters.deactivate("mtr_nope"),
        lambda: client.v1.billing.meters.reactivate("mtr_nope"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            call()
        assert exc.value.http_status == 404
        e = err_of(exc)
        assert (e["code"], e["param"], e["message"]) == (
            "resource_missing",
            "id",
            "No such meter: 'mtr_nope'",
        )


def test_deactivate_and_reactivate(client: stripe.StripeClient) -> None:
    m = _meter(client)
    d = client.v1.billing.meters.deactivate(m.id)
    assert d.status == "inactive"
    assert d.status_transitions.deactivated_at is not None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.deactivate(m.id)
    e = _bad_request(exc)
    assert e["message"] == "This meter is already inactive."
    r = client.v1.billing.meters.reactivate(m.id)
    assert r.status == "active"
    assert r.status_transitions.deactivated_at is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.reactivate(m.id)
    assert _bad_request(exc)["message"] == "This meter is already active."


def test_inactive_meter_cannot_back_a_price(client: stripe.StripeClient) -> None:
    m = _meter(client)
    client.v1.billing.meters.deactivate(m.id)
    prod = client.v1.products.create({"name": "p"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            {
                "currency": "usd",
                "product": prod.id,
                "unit_amount": 1,
                "recurring": {"interval": "month", "usage_type": "metered", "meter": m.id},
            }
        )
    assert _bad_request(exc)["param"] == "recurring[meter]"


def test_list_status_filter_and_pagination(client: stripe.StripeClient) -> None:
    made = [_meter(client, f"ev{i}").id for i in range(4)]
    client.v1.billing.meters.deactivate(made[1])
    all_ids = [m.id for m in client.v1.billing.meters.list().data]
    assert all_ids == made[::-1]
    active = [m.id for m in client.v1.billing.meters.list({"status": "active"}).data]
    assert active == [made[3], made[2], made[0]]
    inactive = [m.id for m in client.v1.billing.meters.list({"status": "inactive"}).data]
    assert inactive == [made[1]]
    page = client.v1.billing.meters.list({"limit": 2})
    assert page.has_more is True and page.url == "/v1/billing/meters"
    assert [m.id for m in client.v1.billing.meters.list({"limit": 2}).auto_paging_iter()] == (
        made[::-1]
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.list({"status": "archived"})  # type: ignore[typeddict-item]
    e = _bad_request(exc)
    assert (e["param"], e["message"]) == (
        "status",
        "Invalid status: must be one of active or inactive",
    )


def test_meter_changes_write_v1_events(client: stripe.StripeClient) -> None:
    m = _meter(client)
    client.v1.billing.meters.update(m.id, {"display_name": "Renamed"})
    client.v1.billing.meters.deactivate(m.id)
    client.v1.billing.meters.reactivate(m.id)
    evs = client.v1.events.list({"limit": 10}).data
    assert [e.type for e in evs] == [
        "billing.meter.reactivated",
        "billing.meter.deactivated",
        "billing.meter.updated",
        "billing.meter.created",
    ]
    updated = evs[2]
    assert updated.data.object["id"] == m.id
    assert updated.data.previous_attributes.to_dict()["display_name"] == "API calls"
    assert evs[1].data.object["status"] == "inactive"
