"""Usage alerts through the SDK: CRUD and status rules, `billing.alert.triggered` firing once
per customer at `gte`, filters, v1 / v2 usage, cancellations, and every error path."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.credit_helpers import meter, send
from tests.conftest import err_of, make_client


def alert(
    client: stripe.StripeClient, meter_id: str, gte: int, customer: str | None = None, **kw: Any
) -> Any:
    th: dict[str, Any] = {"gte": gte, "meter": meter_id, "recurrence": "one_time"}
    if customer is not None:
        th["filters"] = [{"type": "customer", "customer": customer}]
    return client.v1.billing.alerts.create(
        {"alert_type": "usage_threshold", "title": "API usage", "usage_threshold": th, **kw}  # type: ignore[typeddict-item]
    )


def fired(client: stripe.StripeClient) -> list[dict[str, Any]]:
    """`data.object` of every `billing.alert.triggered`, oldest first."""
    evs = client.v1.events.list({"type": "billing.alert.triggered", "limit": 100}).data
    return [e.data.object.to_dict() for e in reversed(evs)]


def _err(exc: pytest.ExceptionInfo[stripe.StripeError], status: int = 400) -> dict[str, Any]:
    assert exc.value.http_status == status
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    return e


def test_create_retrieve_list(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    a = alert(client, m.id, 100, cus.id)
    assert a.id.startswith("alrt_") and a.object == "billing.alert"
    assert (a.alert_type, a.status, a.title) == ("usage_threshold", "active", "API usage")
    assert a.usage_threshold.to_dict() == {
        "filters": [{"customer": cus.id, "type": "customer"}],
        "gte": 100,
        "meter": m.id,
        "recurrence": "one_time",
    }
    assert client.v1.billing.alerts.retrieve(a.id).to_dict() == a.to_dict()
    other = meter(client, "other")
    b = alert(client, other.id, 5)
    assert b.usage_threshold.filters is None
    assert [x.id for x in client.v1.billing.alerts.list({}).data] == [b.id, a.id]
    assert [x.id for x in client.v1.billing.alerts.list({"meter": m.id}).data] == [a.id]
    listed = client.v1.billing.alerts.list({"alert_type": "usage_threshold"})
    assert listed.url == "/v1/billing/alerts" and len(listed.data) == 2


def test_status_transitions(client: stripe.StripeClient) -> None:
    m = meter(client)
    a = alert(client, m.id, 10)
    assert client.v1.billing.alerts.deactivate(a.id).status == "inactive"
    assert client.v1.billing.alerts.deactivate(a.id).status == "inactive"
    assert client.v1.billing.alerts.activate(a.id).status == "active"
    assert client.v1.billing.alerts.activate(a.id).status == "active"
    assert client.v1.billing.alerts.archive(a.id).status == "archived"
    assert client.v1.billing.alerts.list({}).data == []  # archived alerts leave lists
    assert client.v1.billing.alerts.retrieve(a.id).status == "archived"
    for verb in ("activate", "deactivate", "archive"):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            getattr(client.v1.billing.alerts, verb)(a.id)
        e = _err(exc)
        assert e.get("code") is None and e.get("param") is None
        assert e["message"] == f"The alert {a.id} is archived; archived alerts cannot be changed."


def test_fires_once_when_the_100th_unit_arrives(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    a = alert(client, m.id, 100, cus.id)
    send(client, cus.id, 99)
    assert fired(client) == []
    send(client, cus.id, 1)
    (trig,) = fired(client)
    assert trig["object"] == "billing.alert_triggered"
    assert (trig["customer"], trig["value"], trig["livemode"]) == (cus.id, 100, False)
    assert trig["alert"]["id"] == a.id and trig["alert"]["object"] == "billing.alert"
    send(client, cus.id, 500)
    assert len(fired(client)) == 1  # one_time: never again for this customer


def test_not_for_another_customer_when_filtered(client: stripe.StripeClient) -> None:
    m = meter(client)
    watched = client.v1.customers.create({})
    other = client.v1.customers.create({})
    alert(client, m.id, 100, watched.id)
    send(client, other.id, 1000)
    assert fired(client) == []
    send(client, watched.id, 100)
    assert [t["customer"] for t in fired(client)] == [watched.id]


def test_unfiltered_alert_fires_per_customer(client: stripe.StripeClient) -> None:
    m = meter(client)
    a, b = client.v1.customers.create({}), client.v1.customers.create({})
    alert(client, m.id, 10)
    send(client, a.id, 10)
    send(client, b.id, 9)
    send(client, a.id, 10)
    assert [t["customer"] for t in fired(client)] == [a.id]
    send(client, b.id, 1)
    assert [(t["customer"], t["value"]) for t in fired(client)] == [(a.id, 10), (b.id, 10)]


def test_usage_before_the_alert_counts(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    send(client, cus.id, 99)
    alert(client, m.id, 100, cus.id)
    assert fired(client) == []  # evaluated when usage arrives
    send(client, cus.id, 1)
    assert [t["value"] for t in fired(client)] == [100]


def test_inactive_alert_does_not_fire_until_activated(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    a = alert(client, m.id, 100, cus.id)
    client.v1.billing.alerts.deactivate(a.id)
    send(client, cus.id, 150)
    assert fired(client) == []
    client.v1.billing.alerts.activate(a.id)
    send(client, cus.id, 1)
    assert [t["value"] for t in fired(client)] == [151]


def test_cancellation_lowers_the_value_but_does_not_unfire(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    alert(client, m.id, 100, cus.id)
    send(client, cus.id, 100, identifier="big")
    client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "big"}}
    )
    send(client, cus.id, 100)
    assert [t["value"] for t in fired(client)] == [100]


def test_cancelled_usage_does_not_count(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    alert(client, m.id, 100, cus.id)
    send(client, cus.id, 60, identifier="x")
    client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "x"}}
    )
    send(client, cus.id, 60)
    assert fired(client) == []
    send(client, cus.id, 40)
    assert [t["value"] for t in fired(client)] == [100]


def test_v2_meter_events_trigger(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    alert(client, m.id, 100, cus.id)
    client.v2.billing.meter_events.create(
        {"event_name": "api_calls", "payload": {"stripe_customer_id": cus.id, "value": "100"}}
    )
    assert [t["value"] for t in fired(client)] == [100]


def test_two_alerts_at_different_levels(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    low = alert(client, m.id, 10, cus.id)
    high = alert(client, m.id, 50, cus.id)
    send(client, cus.id, 60)
    assert [t["alert"]["id"] for t in fired(client)] == [low.id, high.id]


# --- errors --------------------------------------------------------------------------------


def test_an_inactive_meter(client: stripe.StripeClient) -> None:
    m = meter(client)
    client.v1.billing.meters.deactivate(m.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        alert(client, m.id, 10)
    e = _err(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "usage_threshold[meter]",
        f"The meter {m.id} is inactive: alerts can only be created on active meters.",
    )


def test_a_second_filter(client: stripe.StripeClient) -> None:
    m = meter(client)
    a, b = client.v1.customers.create({}), client.v1.customers.create({})
    th = {
        "gte": 1,
        "meter": m.id,
        "recurrence": "one_time",
        "filters": [{"type": "customer", "customer": a.id}, {"type": "customer", "customer": b.id}],
    }
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.alerts.create(
            {"alert_type": "usage_threshold", "title": "t", "usage_threshold": th}  # type: ignore[typeddict-item]
        )
    e = _err(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "usage_threshold[filters]",
        "usage_threshold[filters] can contain at most one filter (received 2 or more).",
    )


def test_an_unknown_meter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        alert(client, "mtr_nope", 10)
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "usage_threshold[meter]",
        "No such meter: 'mtr_nope'",
    )


def test_an_unknown_customer(client: stripe.StripeClient) -> None:
    m = meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        alert(client, m.id, 10, "cus_nope")
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "usage_threshold[filters][0][customer]",
        "No such customer: 'cus_nope'",
    )


def test_missing_usage_threshold(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.alerts.create({"alert_type": "usage_threshold", "title": "t"})
    e = _err(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "usage_threshold",
        "Missing required param: usage_threshold.",
    )


@pytest.mark.parametrize(("gte", "ok"), [(0, False), (1, True)])
def test_gte_at_least_1(client: stripe.StripeClient, gte: int, ok: bool) -> None:
    m = meter(client)
    if ok:
        assert alert(client, m.id, gte).usage_threshold.gte == 1
        return
    with pytest.raises(stripe.InvalidRequestError) as exc:
        alert(client, m.id, gte)
    e = _err(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "usage_threshold[gte]",
        "Invalid usage_threshold[gte]: must be greater than or equal to 1",
    )


def test_pre_ga_parameters_are_unknown(client: stripe.StripeClient) -> None:
    m = meter(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.alerts.create(
            {  # type: ignore[typeddict-unknown-key]
                "alert_type": "usage_threshold",
                "title": "t",
                "usage_threshold_config": {"gte": 1, "meter": m.id, "recurrence": "one_time"},
            }
        )
    e = _err(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "usage_threshold_config")


def test_the_26th_alert_for_a_meter_and_customer(client: stripe.StripeClient) -> None:
    m = meter(client)
    cus = client.v1.customers.create({})
    made = [alert(client, m.id, i + 1, cus.id) for i in range(25)]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        alert(client, m.id, 99, cus.id)
    e = _err(exc)
    assert (e.get("code"), e["param"], e["message"]) == (
        None,
        "usage_threshold",
        f"You can have at most 25 alerts for meter {m.id} and customer {cus.id}.",
    )
    alert(client, m.id, 99)  # another combination (all customers) is fine
    client.v1.billing.alerts.archive(made[0].id)
    alert(client, m.id, 99, cus.id)


def test_unknown_alert(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.alerts.retrieve("alrt_nope")
    e = _err(exc, 404)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such alert: 'alrt_nope'",
    )


def test_absent_before_2024_09_30(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    old = make_client(server.url, api_key, schema_violations, "2024-06-20")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        old.v1.billing.alerts.list({})
    e = _err(exc, 404)
    assert e["message"].startswith("Unrecognized request URL (GET: /v1/billing/alerts)")


def test_webhook_endpoints_accept_the_new_event_types(client: stripe.StripeClient) -> None:
    types = [
        "billing.alert.triggered",
        "billing.credit_grant.created",
        "billing.credit_grant.updated",
        "billing.credit_balance_transaction.created",
    ]
    we = client.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/hook", "enabled_events": types}  # type: ignore[typeddict-item]
    )
    assert sorted(we.enabled_events) == sorted(types)


def test_a_clock_advance_evaluates_the_clocks_customers(client: stripe.StripeClient) -> None:
    from tests.api.billing_helpers import HOUR, JAN1, advance
    from tests.api.credit_helpers import clocked

    m = meter(client)
    clk, cus = clocked(client)
    send(client, cus.id, 100)
    alert(client, m.id, 100, cus.id)
    assert fired(client) == []  # created after the usage: not evaluated yet
    advance(client, clk.id, JAN1 + HOUR)
    (trig,) = fired(client)
    assert (trig["customer"], trig["value"], trig["created"]) == (cus.id, 100, JAN1 + HOUR)
