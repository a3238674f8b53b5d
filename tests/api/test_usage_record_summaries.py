"""Usage record summaries and the period window (acacia): per-period totals, pagination, grace.

Periods roll on the account's wall clock: `travel` moves the account's clock drift setting
forward, and the next request rolls wall-clock subscriptions lazily.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.usage_helpers import (
    DAY,
    DOCS_TAIL,
    metered_item,
    metered_price,
    now,
    report,
    subscribe,
    summaries,
    totals,
    travel,
)
from tests.conftest import err_of

PERIOD_START = (
    "Cannot create the usage record with this timestamp because timestamps must be after the "
    "subscription's last invoice period (or current period start time)."
)


def test_current_period_summary(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    report(acacia, si, quantity=4)
    lst = summaries(acacia, si)
    assert lst.object == "list"
    assert lst.url == f"/v1/subscription_items/{si}/usage_record_summaries"
    assert lst.has_more is False
    (s,) = lst.data
    assert s.id.startswith("sis_")
    assert s.to_dict() == {
        "id": s.id,
        "object": "usage_record_summary",
        "invoice": None,
        "livemode": False,
        "period": {"start": sub["current_period_start"], "end": sub["current_period_end"]},
        "subscription_item": si,
        "total_usage": 4,
    }


def test_item_without_usage_has_one_empty_summary(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    assert totals(acacia, si) == [0]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # period 1: set 7 then increment 2 at another second; period 2: nothing; period 3: 1
        ("sum", [1, 0, 9]),
        ("last_during_period", [1, 0, 2]),
        ("last_ever", [1, 2, 2]),  # carries across periods without usage
        ("max", [1, 0, 7]),
    ],
)
def test_totals_per_period_for_each_aggregate_usage(
    acacia: stripe.StripeClient,
    server: ThreadedServer,
    api_key: str,
    mode: str,
    expected: list[int],
) -> None:
    sub, si = metered_item(acacia, mode, interval="day")
    t0 = sub["current_period_start"]
    report(acacia, si, quantity=7, timestamp=t0 + 1, action="set")
    report(acacia, si, quantity=2, timestamp=t0 + 2)
    travel(server, api_key, 2 * DAY)
    report(acacia, si, quantity=1)
    lst = summaries(acacia, si)
    assert [s.total_usage for s in lst.data] == expected
    assert [(s.period.start, s.period.end) for s in lst.data] == [
        (t0 + 2 * DAY, t0 + 3 * DAY),
        (t0 + DAY, t0 + 2 * DAY),
        (t0, t0 + DAY),
    ]
    assert lst.data[0].invoice is None  # the open period is not invoiced yet
    assert all(s.invoice is None or s.invoice.startswith("in_") for s in lst.data[1:])


def test_boundary_timestamp_counts_in_the_new_period(
    acacia: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    sub, si = metered_item(acacia, interval="day")
    t0 = sub["current_period_start"]
    travel(server, api_key, DAY - 60)
    report(acacia, si, quantity=3, timestamp=t0 + DAY - 1)
    travel(server, api_key, 120)
    report(acacia, si, quantity=5, timestamp=t0 + DAY)
    assert totals(acacia, si) == [5, 3]


def test_pagination_with_stable_ids(
    acacia: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    _, si = metered_item(acacia, interval="day")
    travel(server, api_key, 4 * DAY)
    all_ids = [s.id for s in summaries(acacia, si, limit=100).data]
    assert len(all_ids) == 5 and len(set(all_ids)) == 5
    page1 = summaries(acacia, si, limit=2)
    assert [s.id for s in page1.data] == all_ids[:2] and page1.has_more is True
    page2 = summaries(acacia, si, limit=2, starting_after=page1.data[-1].id)
    assert [s.id for s in page2.data] == all_ids[2:4] and page2.has_more is True
    page3 = summaries(acacia, si, limit=2, starting_after=page2.data[-1].id)
    assert [s.id for s in page3.data] == all_ids[4:] and page3.has_more is False
    back = summaries(acacia, si, limit=2, ending_before=page2.data[0].id)
    assert [s.id for s in back.data] == all_ids[:2]


def test_pagination_cursor_unknown(acacia: stripe.StripeClient) -> None:
    _, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(acacia, si, starting_after="sis_nope")
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "starting_after",
        "No such usage record summary: 'sis_nope'",
    )


def test_summaries_start_at_the_items_first_period(
    acacia: stripe.StripeClient, server: ThreadedServer, api_key: str
) -> None:
    sub, _ = metered_item(acacia, interval="day")
    travel(server, api_key, 2 * DAY)
    price = metered_price(acacia, interval="day")
    added = acacia.v1.subscription_items.create({"subscription": sub.id, "price": price.id})
    report(acacia, added.id, quantity=6)
    assert totals(acacia, added.id) == [6]


def test_summaries_errors(acacia: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(acacia, "si_nope")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "subscription_item",
        "No such subscription item: 'si_nope'",
    )
    price = metered_price(acacia, usage_type="licensed")
    _, si = subscribe(acacia, price.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(acacia, si)
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert "code" not in e
    assert e["param"] == "subscription_item"
    assert e["message"] == (
        f"Cannot list usage record summaries for `{si}` because it is not on the legacy metered "
        "billing system. Call /v1/billing/meters/:id/event_summaries instead."
    )


# --- the clock-drift grace window --------------------------------------------------------------


def _just_renewed(acacia: stripe.StripeClient, mode: str, seconds_ago: int) -> tuple[Any, str]:
    """A daily subscription whose current period started `seconds_ago` seconds ago."""
    return metered_item(acacia, mode, interval="day", backdate_start_date=now() - DAY - seconds_ago)


def test_grace_accepts_late_usage_of_the_previous_period_for_sum(
    acacia: stripe.StripeClient,
) -> None:
    sub, si = _just_renewed(acacia, "sum", 60)
    start = sub["current_period_start"]
    rec = report(acacia, si, quantity=8, timestamp=start - 100)
    assert rec.timestamp == start - 100
    current, previous = summaries(acacia, si).data[:2]
    draft = False
    if previous.invoice is not None:
        draft = acacia.v1.invoices.retrieve(previous.invoice).status == "draft"
    # on the previous period's invoice while it is a draft, else counted in the current period
    assert (current.total_usage, previous.total_usage) == ((0, 8) if draft else (8, 0))


def _assert_period_start_error(exc: pytest.ExceptionInfo[stripe.StripeError]) -> None:
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert "code" not in e
    assert (e["param"], e["message"]) == ("timestamp", PERIOD_START)


@pytest.mark.parametrize("mode", ["last_during_period", "last_ever", "max"])
def test_grace_is_only_for_sum(acacia: stripe.StripeClient, mode: str) -> None:
    sub, si = _just_renewed(acacia, mode, 60)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 100)
    _assert_period_start_error(exc)


def test_grace_covers_only_the_last_five_minutes_of_the_previous_period(
    acacia: stripe.StripeClient,
) -> None:
    sub, si = _just_renewed(acacia, "sum", 60)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 301)
    _assert_period_start_error(exc)
    assert report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 300).quantity == 1


def test_grace_ends_five_minutes_into_the_period(acacia: stripe.StripeClient) -> None:
    sub, si = _just_renewed(acacia, "sum", 400)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 10)
    _assert_period_start_error(exc)


def test_no_grace_before_the_first_period(acacia: stripe.StripeClient) -> None:
    sub, si = metered_item(acacia)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        report(acacia, si, quantity=1, timestamp=sub["current_period_start"] - 10)
    _assert_period_start_error(exc)
    assert totals(acacia, si) == [0]


# --- version gate ---------------------------------------------------------------------------


def test_basil_or_later_sees_an_unknown_route(
    acacia: stripe.StripeClient, client: stripe.StripeClient
) -> None:
    _, si = metered_item(acacia)
    for method, path in (
        ("POST", f"/v1/subscription_items/{si}/usage_records"),
        ("GET", f"/v1/subscription_items/{si}/usage_record_summaries"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.raw_request(
                method.lower(), path, **({"quantity": 1} if method == "POST" else {})
            )
        assert exc.value.http_status == 404
        e = err_of(exc)
        assert e["type"] == "invalid_request_error"
        assert "code" not in e and "param" not in e
        assert e["message"] == f"Unrecognized request URL ({method}: {path}). {DOCS_TAIL}"
    assert totals(acacia, si) == [0]


# --- billing thresholds ----------------------------------------------------------------------


def test_usage_crossing_an_item_threshold_is_invoiced_at_once(acacia: stripe.StripeClient) -> None:
    price = metered_price(acacia)
    cust = acacia.v1.customers.create({})
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cust.id,
            "items": [{"price": price.id, "billing_thresholds": {"usage_gte": 10}}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    si = sub["items"].data[0].id
    report(acacia, si, quantity=4)
    reasons = [i.billing_reason for i in acacia.v1.invoices.list({"subscription": sub.id}).data]
    assert "subscription_threshold" not in reasons
    report(acacia, si, quantity=8)
    invoices = acacia.v1.invoices.list({"subscription": sub.id}).data
    threshold = [i for i in invoices if i.billing_reason == "subscription_threshold"]
    assert len(threshold) == 1
    (line,) = [ln for ln in threshold[0].lines.data if ln["subscription_item"] == si]
    assert line.quantity == 12
