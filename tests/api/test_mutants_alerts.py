"""Usage alerts pinned while reviewing the surviving mutants of billing/alerts.py (issue 15;
billing-alerts.md §3-§4): each alert fires when the customer's lifetime value reaches its own
`gte` (not when another alert's does), an inactive alert neither fires nor hides the active ones
created after it, a status change after usage was already seen takes effect at the next usage,
and `billing.alert.triggered` is an automatic event (no request, no idempotency key) stamped
with the customer's clock time."""

from __future__ import annotations

import uuid
from typing import Any

import stripe

from tests.api.billing_helpers import HOUR, JAN1, new_clock
from tests.api.credit_helpers import meter, send


def _alert(client: stripe.StripeClient, meter_id: str, gte: int, customer: str) -> Any:
    th: dict[str, Any] = {
        "gte": gte,
        "meter": meter_id,
        "recurrence": "one_time",
        "filters": [{"type": "customer", "customer": customer}],
    }
    return client.v1.billing.alerts.create(
        {"alert_type": "usage_threshold", "title": "API usage", "usage_threshold": th}  # type: ignore[typeddict-item]
    )


def _triggered(client: stripe.StripeClient) -> list[Any]:
    """Every `billing.alert.triggered` event, oldest first."""
    evs = client.v1.events.list({"type": "billing.alert.triggered", "limit": 100}).data
    return list(reversed(evs))


def _fired(client: stripe.StripeClient) -> list[tuple[str, int]]:
    """(alert id, value) of every firing, oldest first."""
    return [(e.data.object.alert.id, e.data.object.value) for e in _triggered(client)]


def test_two_alerts_fire_each_at_its_own_level(client: stripe.StripeClient) -> None:
    """Alerts at 10 and 50: 20 units fire the first only; 40 more (60) fire the second, and
    the first never again."""
    m = meter(client)
    cus = client.v1.customers.create({})
    low = _alert(client, m.id, 10, cus.id)
    high = _alert(client, m.id, 50, cus.id)
    send(client, cus.id, 20)
    assert _fired(client) == [(low.id, 20)]
    send(client, cus.id, 29)  # 49: one below the second level
    assert _fired(client) == [(low.id, 20)]
    send(client, cus.id, 11)  # 60
    assert _fired(client) == [(low.id, 20), (high.id, 60)]
    send(client, cus.id, 100)
    assert len(_fired(client)) == 2


def test_an_inactive_alert_does_not_hide_a_later_active_one(
    client: stripe.StripeClient,
) -> None:
    """An alert deactivated before a second one is created: usage fires the second only."""
    m = meter(client)
    cus = client.v1.customers.create({})
    first = _alert(client, m.id, 5, cus.id)
    client.v1.billing.alerts.deactivate(first.id)
    second = _alert(client, m.id, 10, cus.id)
    send(client, cus.id, 12)
    assert _fired(client) == [(second.id, 12)]


def test_a_status_change_after_usage_counts_at_the_next_usage(
    client: stripe.StripeClient,
) -> None:
    """Usage seen while the alert is active, then deactivated: 100 more units do not fire it;
    activated again: the next unit fires it at the lifetime value 111."""
    m = meter(client)
    cus = client.v1.customers.create({})
    a = _alert(client, m.id, 100, cus.id)
    send(client, cus.id, 10)
    client.v1.billing.alerts.deactivate(a.id)
    send(client, cus.id, 100)
    assert _fired(client) == []
    client.v1.billing.alerts.activate(a.id)
    send(client, cus.id, 1)
    assert _fired(client) == [(a.id, 111)]


def test_the_triggered_event_names_no_request(client: stripe.StripeClient) -> None:
    """Alerts are evaluated after the meter event is processed: the event is automatic, with
    `request.id` and `request.idempotency_key` null even when the usage came with a key."""
    m = meter(client)
    cus = client.v1.customers.create({})
    _alert(client, m.id, 10, cus.id)
    key = f"usage-{uuid.uuid4()}"
    client.v1.billing.meter_events.create(
        {"event_name": "api_calls", "payload": {"stripe_customer_id": cus.id, "value": "10"}},
        {"idempotency_key": key},
    )
    (ev,) = _triggered(client)
    assert (ev.request.id, ev.request.idempotency_key) == (None, None)


def test_the_triggered_event_is_stamped_with_the_customers_clock(
    client: stripe.StripeClient,
) -> None:
    """A customer on a clock frozen at 2026-01-01 01:00: the event and the triggered object
    are created at that time."""
    clk = new_clock(client, JAN1 + HOUR)
    cus = client.v1.customers.create({"test_clock": clk.id})
    m = meter(client)
    _alert(client, m.id, 10, cus.id)
    send(client, cus.id, 10, timestamp=JAN1 + HOUR)
    (ev,) = _triggered(client)
    assert (ev.created, ev.data.object.created) == (JAN1 + HOUR, JAN1 + HOUR)
