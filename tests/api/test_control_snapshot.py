"""/_mock/snapshot: export an account and import it into another, all or nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from stripe_mock_billing.handle import ControlError, StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.conftest import control_error
from tests.conftest import ACACIA, make_client

# --- snapshots -------------------------------------------------------------------------------


def _seed(client: stripe.StripeClient) -> dict[str, Any]:
    cus = client.v1.customers.create({"name": "Seed", "metadata": {"0": "zero"}})
    prod = client.v1.products.create({"name": "Tokens"})
    metered = client.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount_decimal": "0.05",
            "recurring": {"interval": "month", "usage_type": "metered"},
            "lookup_key": "tokens",
        }
    )
    tiered = client.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf", "unit_amount": 2}],
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": metered.id}, {"price": tiered.id}]}
    )
    return {
        "customer": cus.id,
        "product": prod.id,
        "prices": [metered.id, tiered.id],
        "sub": sub.id,
    }


def test_snapshot_round_trip_into_another_account(
    server: ThreadedServer,
    acacia: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    client = acacia  # legacy metered prices (without a meter) need acacia
    ids = _seed(client)
    snap = mock.export_state()
    assert snap["format"] == "stripe-mock-billing/account-snapshot"
    other = StripeMock.connect(server.url)
    other.import_state(snap)
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)
    for service, oid in [
        ("customers", ids["customer"]),
        ("products", ids["product"]),
        ("subscriptions", ids["sub"]),
    ]:
        theirs = getattr(twin.v1, service).retrieve(oid)
        assert theirs.to_dict() == getattr(client.v1, service).retrieve(oid).to_dict()
    for pid in ids["prices"]:
        assert twin.v1.prices.retrieve(pid).to_dict() == client.v1.prices.retrieve(pid).to_dict()
    assert other.export_state()["state"] == snap["state"]
    # the imported account keeps working
    twin.v1.subscriptions.update(ids["sub"], {"metadata": {"after": "import"}})
    assert client.v1.subscriptions.retrieve(ids["sub"]).metadata.to_dict() == {}


def test_snapshot_keeps_meter_events(
    server: ThreadedServer,
    client: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    cus = client.v1.customers.create({})
    meter = client.v1.billing.meters.create(
        {
            "display_name": "Tokens",
            "event_name": "tokens",
            "default_aggregation": {"formula": "sum"},
        }
    )
    now = int(time.time())
    for i, value in enumerate(["5", "7", "2"]):
        client.v1.billing.meter_events.create(
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": cus.id, "value": value},
                "timestamp": now - 60 + i,
                "identifier": f"ev-{i}",
            }
        )
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations)
    start = (now - 3600) // 60 * 60
    params = {"customer": cus.id, "start_time": start, "end_time": start + 7200}
    mine = client.v1.billing.meters.event_summaries.list(meter.id, params)
    theirs = twin.v1.billing.meters.event_summaries.list(meter.id, params)
    assert [s.aggregated_value for s in theirs.data] == [s.aggregated_value for s in mine.data]
    assert [s.aggregated_value for s in mine.data] == [14]
    # identifiers stay unique after import
    with pytest.raises(stripe.InvalidRequestError):
        twin.v1.billing.meter_events.create(
            {
                "event_name": "tokens",
                "payload": {"stripe_customer_id": cus.id, "value": "1"},
                "identifier": "ev-0",
            }
        )


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"format": "nope"}, "Invalid snapshot: `format` must be"),
        (
            {"format": "stripe-mock-billing/account-snapshot", "format_version": 99, "state": {}},
            "Invalid snapshot: unsupported format_version 99.",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {"lock": 1},
            },
            "Invalid snapshot: unknown state field(s) lock.",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {
                    "customers": {
                        "$id": 1,
                        "$map": {"x": {"$id": 2, "$object": "os:system", "fields": {}}},
                    }
                },
            },
            "Invalid snapshot: customers: class os:system is outside stripe_mock_billing",
        ),
        (
            {
                "format": "stripe-mock-billing/account-snapshot",
                "format_version": 1,
                "state": {"customers": {"$ref": 7}},
            },
            "Invalid snapshot: customers: dangling $ref 7",
        ),
    ],
)
def test_bad_snapshot_is_400_and_changes_nothing(
    client: stripe.StripeClient, mock: StripeMock, snapshot: dict[str, Any], message: str
) -> None:
    cus = client.v1.customers.create({"name": "kept"})
    with pytest.raises(ControlError) as exc:
        mock.import_state(snapshot)
    assert exc.value.status == 400
    assert control_error(exc)["message"].startswith(message)
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_snapshot_keeps_usage_records_clocks_and_invoices(
    server: ThreadedServer,
    acacia: stripe.StripeClient,
    mock: StripeMock,
    schema_violations: list[str],
) -> None:
    t0 = 1767225600  # 2026-01-01
    clk = acacia.v1.test_helpers.test_clocks.create({"frozen_time": t0})
    cus = acacia.v1.customers.create({"test_clock": clk.id})
    prod = acacia.v1.products.create({"name": "legacy"})
    price = acacia.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount": 3,
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        }
    )
    sub = acacia.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    item = sub["items"].data[0].id
    for qty in (5, 6):
        acacia.raw_request(
            "post", f"/v1/subscription_items/{item}/usage_records", quantity=qty, timestamp=t0
        )
    acacia.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": t0 + 31 * 86400 + 7200})
    other = StripeMock.connect(server.url)
    other.import_state(mock.export_state())
    twin = make_client(server.url, other.api_key, schema_violations, ACACIA)

    def view(c: stripe.StripeClient) -> Any:
        invoices = [i.to_dict() for i in c.v1.invoices.list({"customer": cus.id}).data]
        summaries = c.raw_request("get", f"/v1/subscription_items/{item}/usage_record_summaries")
        clock = c.v1.test_helpers.test_clocks.retrieve(clk.id).to_dict()
        return invoices, c.deserialize(summaries, api_mode="V1").to_dict(), clock

    assert view(twin) == view(acacia)
    assert [i["amount_due"] for i in view(twin)[0]] == [33, 0]
    # both accounts go on billing the same way
    for c in (acacia, twin):
        c.raw_request(
            "post",
            f"/v1/subscription_items/{item}/usage_records",
            quantity=10,
            timestamp=t0 + 31 * 86400 + 3600,
        )
        c.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": t0 + 60 * 86400})
    amounts = [
        [i.amount_due for i in c.v1.invoices.list({"customer": cus.id}).data]
        for c in (acacia, twin)
    ]
    assert amounts[0] == amounts[1] == [30, 33, 0]
