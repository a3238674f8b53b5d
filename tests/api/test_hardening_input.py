"""Issue 14 (hardening), input: what used to answer 500 or was silently dropped is a
Stripe-shaped 4xx that changes nothing (docs/reference/limits.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.hardening_helpers import (
    DEEP,
    DEEP_OBJECT,
    JAN1_2025,
    JSON,
    send_v2,
    v2_error,
)
from tests.api.test_bad_input import assert_envelope, send
from tests.conftest import err_of, validated

# --- 3. 500s on input --------------------------------------------------------------------------


def test_an_integer_with_5000_digits_is_an_invalid_integer(
    server: ThreadedServer, api_key: str
) -> None:
    """Python's int() refuses more than 4,300 digits: that was a ValueError, a 500."""
    r = send(server, api_key, "GET", "/v1/customers?limit=" + "1" * 5000, None, None)
    err = assert_envelope(r)
    assert r.status_code == 400
    assert (err["code"], err["param"]) == ("parameter_invalid_integer", "limit")
    assert err["message"] == "Invalid integer: " + "1" * 100 + "..."


@pytest.mark.parametrize(
    "path",
    ["/v1/events?created=", "/v1/events?created[gte]=", "/_mock/journal?since="],
)
def test_huge_integers_in_other_integer_params(
    server: ThreadedServer, api_key: str, path: str
) -> None:
    r = send(server, api_key, "GET", path + "9" * 5000, None, None)
    err = assert_envelope(r)
    assert err["code"] == "parameter_invalid_integer"


def test_a_unicode_digit_in_an_array_index_is_not_an_index(
    server: ThreadedServer, api_key: str
) -> None:
    """`"²".isdigit()` is True but int("²") raises: an array index must be ASCII digits."""
    r = send(server, api_key, "GET", "/v1/customers?expand[%C2%B2]=x", None, None)
    err = assert_envelope(r)
    assert (err["param"], err["message"]) == ("expand", "Invalid array: expand must be an array.")


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_on_v2_is_a_400(server: ThreadedServer, api_key: str, body: bytes) -> None:
    """100,000 levels of JSON raised RecursionError inside the decoder: a 500."""
    err = v2_error(send_v2(server, api_key, "/v2/billing/meter_events", body))
    assert err["message"].startswith("Invalid JSON: ")


@pytest.mark.parametrize("path", ["/_mock/settings", "/_mock/snapshot"])
def test_deep_json_on_the_control_api_is_a_400(
    server: ThreadedServer, api_key: str, path: str
) -> None:
    r = send(server, api_key, "POST", path, DEEP_OBJECT, JSON)
    err = assert_envelope(r)
    assert r.status_code == 400
    assert err["message"] == "Invalid JSON: the request body is nested more than 64 levels."


def test_json_nesting_up_to_64_levels_is_read(server: ThreadedServer, api_key: str) -> None:
    """64 levels are fine (a real v2 body has 3): the 400 is about the payload, not the JSON."""
    inner: Any = "x"
    for _ in range(62):
        inner = {"k": inner}
    body = json.dumps({"event_name": "e", "payload": inner}).encode()
    err = v2_error(send_v2(server, api_key, "/v2/billing/meter_events", body))
    assert "nested" not in err["message"]


def test_a_lone_surrogate_in_a_v2_payload_is_a_400(server: ThreadedServer, api_key: str) -> None:
    """`"\\ud800"` decodes to a str that cannot be encoded to UTF-8: it was a
    UnicodeEncodeError (500) when the event was fingerprinted and rendered."""
    body = (
        b'{"event_name": "api_calls", "payload": {"stripe_customer_id": "cus_x", '
        b'"value": "\\ud800"}}'
    )
    err = v2_error(send_v2(server, api_key, "/v2/billing/meter_events", body))
    assert err["message"] == "Invalid JSON: the request body contains an invalid \\u escape."


@pytest.mark.parametrize("frozen_time", [2**62, -(2**40), 32_503_680_000, -1])
def test_test_clock_frozen_time_out_of_range(client: stripe.StripeClient, frozen_time: int) -> None:
    """2^62 and -2^40 were accepted; the next subscription on the clock answered 500."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create({"frozen_time": frozen_time})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e["code"], e["param"]) == (
        "invalid_request_error",
        "parameter_invalid_integer",
        "frozen_time",
    )
    assert e["message"] == (
        "Invalid timestamp: frozen_time must be a Unix timestamp between 0 and 32503679999."
    )
    assert client.v1.test_helpers.test_clocks.list().data == []


@pytest.mark.parametrize("frozen_time", [0, 32_503_679_999])
def test_test_clock_frozen_time_range_edges_are_accepted(
    client: stripe.StripeClient, frozen_time: int
) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": frozen_time})
    assert clk.frozen_time == frozen_time


def test_advance_target_out_of_range(client: stripe.StripeClient) -> None:
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1_2025})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(clk.id, {"frozen_time": 2**62})
    assert (err_of(exc)["code"], err_of(exc)["param"]) == (
        "parameter_invalid_integer",
        "frozen_time",
    )
    assert client.v1.test_helpers.test_clocks.retrieve(clk.id).frozen_time == JAN1_2025


@pytest.mark.parametrize("param", ["trial_end", "cancel_at", "billing_cycle_anchor"])
def test_subscription_timestamps_out_of_range(client: stripe.StripeClient, param: str) -> None:
    cus = client.v1.customers.create({})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
            "product_data": {"name": "p"},
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(
            {"customer": cus.id, "items": [{"price": price.id}], param: 2**62}
        )
    assert (err_of(exc)["code"], err_of(exc)["param"]) == ("parameter_invalid_integer", param)
    assert client.v1.subscriptions.list({"customer": cus.id}).data == []


# --- 10. lenient input Stripe rejects --------------------------------------------------------


def test_a_delete_body_is_read(client: stripe.StripeClient, server: ThreadedServer) -> None:
    """`curl -X DELETE -d invoice_now=true` was silently dropped, unknown params passed."""
    clk = client.v1.test_helpers.test_clocks.create({"frozen_time": JAN1_2025})
    cus = client.v1.customers.create({"test_clock": clk.id})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "p"},
        }
    )
    sub = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    key = client._requestor.api_key  # type: ignore[attr-defined]
    r = send(server, key, "DELETE", f"/v1/subscriptions/{sub.id}", b"bogus=1")
    err = assert_envelope(r)
    assert (err["code"], err["param"]) == ("parameter_unknown", "bogus")
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    r = send(server, key, "DELETE", f"/v1/subscriptions/{sub.id}", b"invoice_now=true")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    invoices = client.v1.invoices.list({"subscription": sub.id}).data
    assert len(invoices) == 2  # the first invoice and the final one of invoice_now


def _version_get(server: ThreadedServer, key: str, version: str) -> requests.Response:
    r = requests.get(
        server.url + "/v1/customers",
        headers={"Authorization": f"Bearer {key}", "Stripe-Version": version},
        timeout=10,
    )
    return validated(r)


@pytest.mark.parametrize(
    "bad",
    ["9999-12-31", "9999-12-31.zeta", "2025-02-24.basil", "2024-05-01", "2025-03-31.nope"],
)
def test_a_version_stripe_never_released_is_400(
    server: ThreadedServer, api_key: str, bad: str
) -> None:
    """Any well-formed date was accepted, 9999-12-31 included."""
    r = _version_get(server, api_key, bad)
    err = assert_envelope(r)
    assert r.status_code == 400
    assert err["message"] == f"Invalid Stripe API version: {bad}"


@pytest.mark.parametrize(
    "good", ["2024-06-20", "2025-02-24.acacia", "2025-03-31.preview", "2026-11-18.endive"]
)
def test_released_versions_are_served_as_themselves(
    server: ThreadedServer, api_key: str, good: str
) -> None:
    r = _version_get(server, api_key, good)
    assert r.status_code == 200
    assert r.headers["Stripe-Version"] == good
    assert "Stripe-Mock-Requested-Version" not in r.headers


def test_a_newer_version_not_in_the_future_is_served_as_the_newest(
    server: ThreadedServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new SDK release must keep working before the emulator learns its version."""
    from stripe_mock_billing import clock

    monkeypatch.setattr(clock, "real_time", lambda: 1798761600)  # 2027-01-01
    r = _version_get(server, api_key, "2026-12-16.endive")
    assert r.status_code == 200
    assert r.headers["Stripe-Version"] == "2026-11-18.endive"
    assert r.headers["Stripe-Mock-Requested-Version"] == "2026-12-16.endive"
    err = assert_envelope(_version_get(server, api_key, "2027-01-02.endive"))  # the future
    assert err["message"] == "Invalid Stripe API version: 2027-01-02.endive"


def test_a_customer_cannot_join_a_clock_frozen_before_it_existed(
    client: stripe.StripeClient,
) -> None:
    """Attached to a clock frozen in the past, its subscription got canceled_at < created."""
    cus = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.create(
            {"frozen_time": cus.created - 86400, "customer": cus.id}
        )
    e = err_of(exc)
    assert (e["param"], exc.value.http_status) == ("frozen_time", 400)
    assert client.v1.test_helpers.test_clocks.list().data == []
    assert client.v1.customers.retrieve(cus.id).test_clock is None
    clk = client.v1.test_helpers.test_clocks.create(
        {"frozen_time": cus.created, "customer": cus.id}
    )
    assert client.v1.customers.retrieve(cus.id).test_clock == clk.id
