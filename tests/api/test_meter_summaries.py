"""v1 event summaries through the SDK: windows, alignment, errors, lag, brute-force property."""

from __future__ import annotations

import uuid

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import set_account
from tests.api.conftest import invalid_request
from tests.api.meter_helpers import D, H, day0, make_meter, send, summaries, total
from tests.conftest import make_client
from tests.meter_reference import aggregate


def _cancel(client: stripe.StripeClient, identifier: str, name: str = "api_calls") -> object:
    return client.v1.billing.meter_event_adjustments.create(
        {"event_name": name, "type": "cancel", "cancel": {"identifier": identifier}}
    )


# --------------------------------------------------------------------------- summaries


def test_summary_grouping_returns_every_window(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    send(client, cus, 3, base + 30 * 60)
    send(client, cus, 4, base + 2 * H)
    rows = summaries(client, m.id, cus, base, base + 3 * H, "hour")
    assert rows == [
        (base, base + H, 3),
        (base + H, base + 2 * H, 0),
        (base + 2 * H, base + 3 * H, 4),
    ]
    page = client.v1.billing.meters.event_summaries.list(
        m.id,
        {"customer": cus, "start_time": base, "end_time": base + 3 * H,
         "value_grouping_window": "hour", "limit": 2},
    )  # fmt: skip
    assert page.has_more is True
    assert page.url == f"/v1/billing/meters/{m.id}/event_summaries"
    assert all(s.object == "billing.meter_event_summary" and s.meter == m.id for s in page.data)
    assert page.data[0].id.startswith("mtrusg_")


def test_summaries_per_customer(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    other = client.v1.customers.create({}).id
    base = day0()
    send(client, cus, 3, base)
    send(client, other, 100, base)
    assert total(client, m.id, cus, base, base + 60) == 3
    assert total(client, m.id, other, base, base + 60) == 100


@pytest.mark.parametrize(
    ("grouping", "start_off", "end_off", "param", "message"),
    [
        (None, 30, 120, "start_time", "The start_time must be aligned to a minute boundary."),
        (None, 0, 90, "end_time", "The end_time must be aligned to a minute boundary."),
        ("hour", 60, H, "start_time",
         "The start_time must be aligned to an hour boundary when value_grouping_window is hour."),
        ("day", 0, H, "end_time",
         "The end_time must be aligned to a day (UTC midnight) boundary when "
         "value_grouping_window is day."),
        (None, 120, 60, "end_time", "The end_time must be after the start_time."),
    ],
)  # fmt: skip
def test_summary_alignment_errors(
    client: stripe.StripeClient,
    cus: str,
    grouping: str | None,
    start_off: int,
    end_off: int,
    param: str,
    message: str,
) -> None:
    m = make_meter(client)
    base = day0()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(client, m.id, cus, base + start_off, base + end_off, grouping)
    e = invalid_request(exc)
    assert (e["param"], e["message"]) == (param, message)


def test_summary_param_errors(client: stripe.StripeClient, cus: str) -> None:
    m = make_meter(client)
    base = day0()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.meters.event_summaries.list(
            m.id,
            {"start_time": base, "end_time": base + 60},  # type: ignore[typeddict-item]
        )
    e = invalid_request(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_missing",
        "customer",
        "Missing required param: customer.",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(client, m.id, "cus_ghost", base, base + 60)
    e = invalid_request(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "customer",
        "No such customer: 'cus_ghost'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(client, "mtr_ghost", cus, base, base + 60)
    e = invalid_request(exc, 404)
    assert (e["code"], e["param"], e["message"]) == (
        "resource_missing",
        "id",
        "No such meter: 'mtr_ghost'",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        summaries(client, m.id, cus, base, base + 60, "week")
    e = invalid_request(exc)
    assert e["param"] == "value_grouping_window"


def test_summary_lag_delays_visibility(
    client: stripe.StripeClient, cus: str, server: ThreadedServer, api_key: str
) -> None:
    m = make_meter(client)
    base = day0()
    set_account(server, api_key, clock_offset=-60)  # received a minute ago
    send(client, cus, 5, base)
    set_account(server, api_key, clock_offset=0)
    set_account(server, api_key, summary_lag=30)
    send(client, cus, 7, base + 60)
    assert total(client, m.id, cus, base, base + H) == 5  # the new event is not visible yet
    set_account(server, api_key, clock_offset=31)  # half a minute later
    assert total(client, m.id, cus, base, base + H) == 12


# ------------------------------------------------------------- property test over HTTP

_OFFSETS = st.one_of(st.integers(0, 2 * D - 1), st.sampled_from([0, 1, H - 1, H, D - 1, D, D + 1]))
_IDS = [f"p{n}" for n in range(8)]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.tuples(_OFFSETS, st.integers(-20, 20), st.sampled_from(_IDS)), min_size=1, max_size=12
    ),
    cancel=st.sets(st.sampled_from(_IDS), max_size=3),
    formula=st.sampled_from(["sum", "count", "last"]),
    window=st.sampled_from([None, "hour", "day"]),
    grouping=st.sampled_from([None, "hour", "day"]),
)
def test_summaries_match_brute_force_over_http(
    server: ThreadedServer,
    schema_violations: list[str],
    events: list[tuple[int, int, str]],
    cancel: set[str],
    formula: str,
    window: str | None,
    grouping: str | None,
) -> None:
    client = make_client(server.url, "sk_test_" + uuid.uuid4().hex, schema_violations)
    cus = client.v1.customers.create({}).id
    extra = {"event_time_window": window} if window else {}
    m = make_meter(client, "prop", formula, **extra)
    base = day0()
    sent: list[tuple[int, int, str]] = []
    for off, value, ident in events:
        try:
            send(client, cus, value, base + off, name="prop", identifier=ident)
        except stripe.InvalidRequestError as exc:
            body = exc.json_body or {}
            assert body["error"]["message"] == f"An event already exists with identifier {ident}."
        sent.append((base + off, value, ident))
    stored = {ident for _, _, ident in sent}
    for ident in cancel & stored:
        _cancel(client, ident, name="prop")
    rows = summaries(client, m.id, cus, base, base + 2 * D, grouping)
    assert rows[0][0] == base and rows[-1][1] == base + 2 * D
    for low, high, value in rows:
        assert value == aggregate(sent, cancel & stored, formula, window, low, high)
