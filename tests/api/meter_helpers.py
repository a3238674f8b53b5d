"""Helpers shared by the meter API tests."""

from __future__ import annotations

import time
from typing import Any

import stripe

H, D = 3600, 86400


def day0() -> int:
    """UTC midnight two days ago: a base well inside the 35-day window."""
    now = int(time.time())
    return now - now % D - 2 * D


def make_meter(
    client: stripe.StripeClient, name: str = "api_calls", formula: str = "sum", **extra: Any
) -> stripe.billing.Meter:
    """A meter with `event_name=name`."""
    params = {
        "display_name": name,
        "event_name": name,
        "default_aggregation": {"formula": formula},
        **extra,
    }
    return client.v1.billing.meters.create(params)  # type: ignore[arg-type]


def send(
    client: stripe.StripeClient,
    customer: str,
    value: str | int,
    ts: int | None = None,
    name: str = "api_calls",
    identifier: str | None = None,
) -> stripe.billing.MeterEvent:
    """A v1 meter event."""
    params: dict[str, Any] = {
        "event_name": name,
        "payload": {"stripe_customer_id": customer, "value": str(value)},
    }
    if ts is not None:
        params["timestamp"] = ts
    if identifier is not None:
        params["identifier"] = identifier
    return client.v1.billing.meter_events.create(params)  # type: ignore[arg-type]


def summaries(
    client: stripe.StripeClient,
    meter: str,
    customer: str,
    start: int,
    end: int,
    grouping: str | None = None,
) -> list[tuple[int, int, float]]:
    """All summaries (auto-paginated) as (start, end, value)."""
    params: dict[str, Any] = {"customer": customer, "start_time": start, "end_time": end}
    if grouping:
        params["value_grouping_window"] = grouping
    params["limit"] = 100
    page = client.v1.billing.meters.event_summaries.list(meter, params)  # type: ignore[arg-type]
    return [(s.start_time, s.end_time, s.aggregated_value) for s in page.auto_paging_iter()]


def total(client: stripe.StripeClient, meter: str, customer: str, start: int, end: int) -> float:
    """The aggregated value over one range."""
    rows = summaries(client, meter, customer, start, end)
    assert len(rows) == 1
    return rows[0][2]


def thin_events(client: stripe.StripeClient) -> list[dict[str, Any]]:
    """The account's thin events (meter error reports), newest first, as dicts."""
    resp = client.raw_request("get", "/v2/core/events")
    return list(client.deserialize(resp, api_mode="V2").to_dict()["data"])


def error_codes(client: stripe.StripeClient) -> list[str]:
    """Codes of every reported meter event error, oldest first."""
    codes: list[str] = []
    for ev in reversed(thin_events(client)):
        for et in ev["data"]["reason"]["error_types"]:
            codes.extend([et["code"]] * et["error_count"])
    return codes
