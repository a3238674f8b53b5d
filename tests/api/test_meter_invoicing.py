"""Prices with `recurring[meter]` on invoices, with test clocks: cycle, final, preview, grace,
negative totals, cancellations, backdating, price switches, and a brute-force property test."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import DAY, FEB1, HOUR, JAN1, MAR1, advance, invoices_of, new_clock
from tests.api.meter_helpers import make_meter
from tests.conftest import err_of, make_client
from tests.meter_reference import aggregate


def meter_price(client: stripe.StripeClient, meter: str, unit: int = 10) -> Any:
    """A monthly USD price billing the meter's aggregate at `unit` cents."""
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": unit,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter},
            "product_data": {"name": "API calls"},
        }
    )


def setup(
    client: stripe.StripeClient, formula: str = "sum", unit: int = 10, **sub_extra: Any
) -> tuple[Any, Any, Any, Any]:
    """(meter, price, clock, customer) and a subscription started at Jan 1 on the clock."""
    meter = make_meter(client, "api_calls", formula)
    price = meter_price(client, meter.id, unit)
    clk = new_clock(client, JAN1)
    cus = client.v1.customers.create({"test_clock": clk.id})
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price.id}], **sub_extra}
    )
    return meter, price, clk, (cus, sub)


def send(
    client: stripe.StripeClient, cus: str, value: int, ts: int | None = None, **kw: Any
) -> Any:
    params: dict[str, Any] = {
        "event_name": "api_calls",
        "payload": {"stripe_customer_id": cus, "value": str(value)},
        **kw,
    }
    if ts is not None:
        params["timestamp"] = ts
    return client.v1.billing.meter_events.create(params)  # type: ignore[arg-type]


def line_for(inv: Any, price_id: str) -> Any:
    """The invoice line of `price_id` (basil line shape)."""
    (line,) = [ln for ln in inv.lines.data if ln.pricing.price_details.price == price_id]
    return line


def cycle_invoice(client: stripe.StripeClient, sub_id: str, period_end: int) -> Any:
    """The subscription's cycle invoice whose period ends at `period_end`."""
    (inv,) = [
        i
        for i in invoices_of(client, sub_id)
        if i.billing_reason == "subscription_cycle" and i.period_end == period_end
    ]
    return client.v1.invoices.retrieve(inv.id)


def test_event_now_is_the_customer_clock_time(client: stripe.StripeClient) -> None:
    _, _, clk, (cus, _) = setup(client)
    advance(client, clk.id, JAN1 + 3 * HOUR)
    ev = send(client, cus.id, 2)
    assert ev.timestamp == JAN1 + 3 * HOUR
    with pytest.raises(stripe.InvalidRequestError) as exc:  # the wall clock is months later
        send(client, cus.id, 1, JAN1 + 4 * HOUR)
    e = err_of(exc)
    assert e["param"] == "timestamp"
    assert e["message"] == (
        "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp "
        f"less than or equal to {JAN1 + 3 * HOUR + 300}."
    )


def test_cycle_invoice_bills_the_period_aggregate(client: stripe.StripeClient) -> None:
    meter, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10)
    advance(client, clk.id, JAN1 + 10 * DAY)
    send(client, cus.id, 7)  # clock time
    send(client, cus.id, 100, JAN1 - 60)  # before the period: not billed
    advance(client, clk.id, FEB1 + 60)
    inv = cycle_invoice(client, sub.id, FEB1)
    line = line_for(inv, price.id)
    assert (line.quantity, line.amount, line.period.start, line.period.end) == (12, 120, JAN1, FEB1)
    page = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": cus.id, "start_time": JAN1, "end_time": FEB1}
    )
    assert page.data[0].aggregated_value == line.quantity


def test_negative_total_bills_zero(client: stripe.StripeClient) -> None:
    _, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10)
    send(client, cus.id, -9, JAN1 + 20)
    advance(client, clk.id, FEB1 + 60)
    line = line_for(cycle_invoice(client, sub.id, FEB1), price.id)
    assert (line.quantity, line.amount) == (0, 0)


def test_last_and_count_formulas_on_invoices(client: stripe.StripeClient) -> None:
    _, price, clk, (cus, sub) = setup(client, "last")
    advance(client, clk.id, JAN1 + 2 * DAY)
    send(client, cus.id, 9, JAN1 + 10)
    send(client, cus.id, 4, JAN1 + DAY)
    advance(client, clk.id, FEB1 + 60)
    assert line_for(cycle_invoice(client, sub.id, FEB1), price.id).quantity == 4


def test_late_event_in_grace_lands_on_the_draft(client: stripe.StripeClient) -> None:
    _, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10)
    advance(client, clk.id, FEB1 + 60)
    draft = cycle_invoice(client, sub.id, FEB1)
    assert draft.status == "draft"
    send(client, cus.id, 8, FEB1 - 100, identifier="late")  # within the grace window
    assert line_for(client.v1.invoices.retrieve(draft.id), price.id).quantity == 13
    advance(client, clk.id, FEB1 + 2 * HOUR)  # finalized about an hour after creation
    done = client.v1.invoices.retrieve(draft.id)
    assert done.status != "draft"
    assert line_for(done, price.id).quantity == 13
    send(client, cus.id, 50, FEB1 - 50)  # after finalization: lands nowhere
    assert line_for(client.v1.invoices.retrieve(draft.id), price.id).quantity == 13
    advance(client, clk.id, MAR1 + 60)
    assert line_for(cycle_invoice(client, sub.id, MAR1), price.id).quantity == 0


def test_cancelled_event_leaves_the_draft_but_not_a_finalized_invoice(
    client: stripe.StripeClient,
) -> None:
    _, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10, identifier="a")
    send(client, cus.id, 7, JAN1 + 20, identifier="b")
    advance(client, clk.id, FEB1 + 60)
    cancel = {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "a"}}
    client.v1.billing.meter_event_adjustments.create(cancel)  # type: ignore[arg-type]
    draft = cycle_invoice(client, sub.id, FEB1)
    assert line_for(draft, price.id).quantity == 7
    advance(client, clk.id, FEB1 + 2 * HOUR)
    client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "b"}}
    )
    done = client.v1.invoices.retrieve(draft.id)
    assert done.status != "draft"
    assert line_for(done, price.id).quantity == 7


def test_create_preview_shows_usage_so_far(client: stripe.StripeClient) -> None:
    _, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10)
    advance(client, clk.id, JAN1 + 5 * DAY)
    send(client, cus.id, 6)
    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    line = line_for(preview, price.id)
    assert (line.quantity, line.amount) == (11, 110)


def test_final_invoice_on_cancel_bills_usage(client: stripe.StripeClient) -> None:
    _, price, clk, (cus, sub) = setup(client)
    send(client, cus.id, 5, JAN1 + 10)
    advance(client, clk.id, JAN1 + 10 * DAY)
    send(client, cus.id, 4)
    client.v1.subscriptions.cancel(sub.id, {"invoice_now": True})
    invs = [i for i in invoices_of(client, sub.id) if i.billing_reason != "subscription_create"]
    assert invs, "a final invoice"
    assert line_for(client.v1.invoices.retrieve(invs[-1].id), price.id).quantity == 9


def test_backdated_subscription_bills_earlier_events(client: stripe.StripeClient) -> None:
    meter = make_meter(client)
    price = meter_price(client, meter.id)
    clk = new_clock(client, JAN1 + 10 * DAY)
    cus = client.v1.customers.create({"test_clock": clk.id})
    send(client, cus.id, 6, JAN1 + DAY)  # usage before the subscription exists
    sub = client.v1.subscriptions.create(
        {
            "customer": cus.id,
            "items": [{"price": price.id}],
            "backdate_start_date": JAN1,
            "billing_cycle_anchor": FEB1,
        }
    )
    send(client, cus.id, 4)
    advance(client, clk.id, FEB1 + 60)
    billed = sum(
        ln.quantity
        for inv in invoices_of(client, sub.id)
        for ln in client.v1.invoices.retrieve(inv.id).lines.data
        if ln.pricing.price_details.price == price.id
    )
    assert billed == 10


def test_price_switch_bills_only_usage_after_the_switch(client: stripe.StripeClient) -> None:
    meter, price_a, clk, (cus, sub) = setup(client)
    price_b = meter_price(client, meter.id, unit=20)
    advance(client, clk.id, JAN1 + 15 * DAY)
    send(client, cus.id, 5, JAN1 + DAY)
    item = sub["items"].data[0]
    client.v1.subscription_items.update(item.id, {"price": price_b.id})
    send(client, cus.id, 3)
    advance(client, clk.id, FEB1 + 60)
    inv = cycle_invoice(client, sub.id, FEB1)
    line = line_for(inv, price_b.id)
    assert (line.quantity, line.amount) == (3, 60)
    assert all(ln.pricing.price_details.price != price_a.id or ln.quantity == 0
               for ln in inv.lines.data)  # fmt: skip


_OFFSETS = st.one_of(
    st.integers(-2 * DAY, FEB1 - JAN1 + 200),
    st.sampled_from([0, 1, -1, FEB1 - JAN1 - 1, FEB1 - JAN1, FEB1 - JAN1 + 1]),
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.tuples(_OFFSETS, st.integers(-20, 30), st.sampled_from([f"q{n}" for n in range(6)])),
        max_size=10,
    ),
    cancel=st.sets(st.sampled_from([f"q{n}" for n in range(6)]), max_size=2),
    formula=st.sampled_from(["sum", "count", "last"]),
)
def test_invoice_quantity_matches_brute_force(
    server: ThreadedServer,
    schema_violations: list[str],
    events: list[tuple[int, int, str]],
    cancel: set[str],
    formula: str,
) -> None:
    client = make_client(server.url, "sk_test_" + uuid.uuid4().hex, schema_violations)
    _, price, clk, (cus, sub) = setup(client, formula)
    advance(client, clk.id, FEB1 - 60)  # every offset is within [now - 35 days, now + 5 min]
    sent: list[tuple[int, int, str]] = []
    for off, value, ident in events:
        with contextlib.suppress(stripe.InvalidRequestError):  # reused identifier: refused
            send(client, cus.id, value, JAN1 + off, identifier=ident)
        sent.append((JAN1 + off, value, ident))
    stored = {ident for _, _, ident in sent}
    for ident in cancel & stored:
        client.v1.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": ident}}
        )
    advance(client, clk.id, FEB1 + 2 * HOUR)  # the cycle invoice is finalized
    inv = cycle_invoice(client, sub.id, FEB1)
    expected = aggregate(sent, cancel & stored, formula, None, JAN1, FEB1)
    assert line_for(inv, price.id).quantity == max(expected, 0)
