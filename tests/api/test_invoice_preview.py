"""Invoice previews through the SDK: create_preview, upcoming (acacia), their errors."""

from __future__ import annotations

import pytest
import stripe

from tests.api.billing_helpers import (
    JAN1,
    clocked_sub,
    err_tuple,
    legacy_metered_price,
    licensed_price,
    report,
)
from tests.conftest import err_of


def test_create_preview_shows_usage_so_far(acacia: stripe.StripeClient) -> None:
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    _, _, sub = clocked_sub(acacia, [lic.id, met.id])
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    report(acacia, si, 100, JAN1 + 10)
    prev = acacia.v1.invoices.create_preview({"subscription": sub.id})
    assert prev.id.startswith("upcoming_in_")
    assert all(ln.id.startswith("il_tmp_") for ln in prev.lines.data)
    metered = next(ln for ln in prev.lines.data if ln.price.id == met.id)
    assert (metered.quantity, metered.amount) == (100, 700)
    assert prev.total == 1700
    assert acacia.v1.invoices.list({"subscription": sub.id}).data[0].id == sub.latest_invoice


def test_preview_cancel_now_and_anchor_now(acacia: stripe.StripeClient) -> None:
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    _, _, sub = clocked_sub(acacia, [lic.id, met.id])
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    report(acacia, si, 10, JAN1)
    gone = acacia.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"cancel_now": True}}
    )
    assert gone.total == 70
    reset = acacia.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"billing_cycle_anchor": "now"}}
    )
    assert reset.total == 1070


def test_preview_with_item_change(client: stripe.StripeClient) -> None:
    a, b = licensed_price(client, 1000), licensed_price(client, 3000)
    _, _, sub = clocked_sub(client, [a.id])
    si = sub["items"].data[0].id
    prev = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {"items": [{"id": si, "price": b.id}]}}
    )
    # next period at the new price, plus the prorations of a change at the period start
    assert prev.total == 3000 + 3000 - 1000
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview(
            {
                "subscription": sub.id,
                "subscription_details": {"items": [{"id": "si_nope", "price": b.id}]},
            }
        )
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert e["param"] == "subscription_details[items][0][id]"


def test_preview_nothing_upcoming(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview({"customer": cust.id})
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert e["code"] == "invoice_upcoming_none"
    assert e["message"] == f"No upcoming invoices for customer: {cust.id}"


def test_preview_of_pending_items_only(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    client.v1.invoice_items.create({"customer": cust.id, "amount": 400, "currency": "usd"})
    prev = client.v1.invoices.create_preview({"customer": cust.id})
    assert prev.total == 400


def test_preview_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview({})
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview({"subscription": "sub_nope"})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"]) == ("resource_missing", "subscription")


def test_upcoming_endpoint_on_acacia(acacia: stripe.StripeClient) -> None:
    lic, met = licensed_price(acacia, 1000), legacy_metered_price(acacia, 7)
    _, cust, sub = clocked_sub(acacia, [lic.id, met.id])
    si = next(i.id for i in sub["items"].data if i.price.id == met.id)
    report(acacia, si, 3, JAN1 + 5)
    up = acacia.deserialize(
        acacia.raw_request("get", "/v1/invoices/upcoming", customer=cust.id), api_mode="V1"
    )
    assert "id" not in up.to_dict()  # no id: the legacy schema types `id` as a string
    assert up.total == 1021
    assert up.lines.url == "/v1/invoices/upcoming/lines"
    lines = acacia.deserialize(
        acacia.raw_request("get", "/v1/invoices/upcoming/lines", subscription=sub.id, limit=1),
        api_mode="V1",
    )
    assert len(lines.data) == 1 and lines.has_more is True


def test_upcoming_is_gone_in_basil(client: stripe.StripeClient) -> None:
    cust = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("get", "/v1/invoices/upcoming", customer=cust.id)
    assert exc.value.http_status == 404
    msg = err_of(exc)["message"]
    assert msg.startswith("Unrecognized request URL (GET: /v1/invoices/upcoming)")


def test_preview_bad_anchor_value(client: stripe.StripeClient) -> None:
    sub = clocked_sub(client, [licensed_price(client).id])[2]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview(
            {"subscription": sub.id, "subscription_details": {"billing_cycle_anchor": "soon"}}
        )
    assert err_tuple(exc) == (
        400,
        "invalid_request_error",
        None,
        "subscription_details[billing_cycle_anchor]",
        "Invalid subscription_details[billing_cycle_anchor]: must be `now` or `unchanged`.",
    )


def test_preview_of_canceled_subscription_has_nothing_upcoming(client: stripe.StripeClient) -> None:
    _, cust, sub = clocked_sub(client, [licensed_price(client).id])
    client.v1.subscriptions.cancel(sub.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.invoices.create_preview({"subscription": sub.id})
    assert err_tuple(exc) == (
        404,
        "invalid_request_error",
        "invoice_upcoming_none",
        None,
        f"No upcoming invoices for customer: {cust.id}",
    )
