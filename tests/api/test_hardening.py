"""Issue 14 (hardening): input that used to answer 500 or do unbounded work is a Stripe-shaped
4xx that changes nothing; limits are the ones in docs/reference/limits.md."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.test_bad_input import assert_envelope, send
from tests.conftest import err_of

JSON = "application/json"
V2_VERSION = "2025-03-31.preview"
JAN1_2025 = 1735689600


def send_v2(server: ThreadedServer, key: str, path: str, body: bytes) -> requests.Response:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": JSON,
        "Stripe-Version": V2_VERSION,
    }
    return requests.post(server.url + path, data=body, headers=headers, timeout=30)


def v2_error(r: requests.Response) -> dict[str, Any]:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert isinstance(err["message"], str) and "Traceback" not in r.text
    return dict(err)


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


DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


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


# --- 1. bounded clock advances ----------------------------------------------------------------

FEB1_2025 = 1738368000
APR1_2025 = 1743465600
MAY1_2025 = 1746057600


def _clocked_subscription(client: stripe.StripeClient) -> tuple[str, str]:
    """A clock at 2025-01-01 with one monthly 10 USD subscription; (clock id, customer id)."""
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
    client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price.id}]})
    return clk.id, cus.id


def _state(client: stripe.StripeClient, clock_id: str, cus: str) -> tuple[Any, ...]:
    clk = client.v1.test_helpers.test_clocks.retrieve(clock_id)
    invoices = [i.id for i in client.v1.invoices.list({"customer": cus, "limit": 100}).data]
    events = [e.id for e in client.v1.events.list({"limit": 100}).data]
    subs = client.v1.subscriptions.list({"customer": cus}).data
    return clk.frozen_time, clk.status, invoices, events, [s.to_dict() for s in subs]


def test_an_advance_over_10000_periods_is_a_400_and_changes_nothing(
    client: stripe.StripeClient,
) -> None:
    """Advancing one monthly subscription to the year 9999 ran 15.8 s, made ~96,000 invoices,
    ended in a 500 and left the clock moved; to 2999 it would cross ~11,700 periods."""
    clock_id, cus = _clocked_subscription(client)
    before = _state(client, clock_id, cus)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 32_503_679_999})
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e["param"], e.get("code")) == ("invalid_request_error", "frozen_time", None)
    assert e["message"] == (
        "Cannot advance the test clock that far: it would cross more than 10000 billing periods "
        "of its subscriptions in one advance. Advance it in smaller steps (account setting "
        "`max_advance_periods`)."
    )
    assert _state(client, clock_id, cus) == before


def test_max_advance_periods_is_an_account_setting(client: stripe.StripeClient, mock: Any) -> None:
    clock_id, cus = _clocked_subscription(client)
    mock.update_settings(max_advance_periods=3)
    # Feb 1, Mar 1, Apr 1: three period ends
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": APR1_2025})
    before = _state(client, clock_id, cus)
    # May 1 .. Aug 1: four
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 1754006400})
    assert err_of(exc)["param"] == "frozen_time"
    assert _state(client, clock_id, cus) == before
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": 1751328000})  # Jul 1


def test_an_advance_that_fails_half_way_changes_nothing(
    client: stripe.StripeClient, server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected failure after the first of several rollovers: rolled back, not half done."""
    from stripe_mock_billing.billing import lifecycle

    clock_id, cus = _clocked_subscription(client)
    before = _state(client, clock_id, cus)
    real = lifecycle.rollover
    calls: list[int] = []

    def failing(ns: Any, sub: Any, boundary: int) -> None:
        calls.append(boundary)
        if len(calls) == 2:
            raise RuntimeError("boom in the second rollover")
        real(ns, sub, boundary)

    monkeypatch.setattr(lifecycle, "rollover", failing)
    errors = server.app.extensions["stripe_mock_billing.errors"]
    with pytest.raises(stripe.APIError) as exc:
        client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": MAY1_2025})
    assert exc.value.http_status == 500
    assert calls == [FEB1_2025, 1740787200]
    monkeypatch.undo()
    assert _state(client, clock_id, cus) == before
    assert any("second rollover" in str(err) for err in list(errors))


@pytest.fixture
def loop_srv() -> Any:
    from stripe_mock_billing.app import create_app
    from stripe_mock_billing.config import Settings
    from stripe_mock_billing.loop_server import LoopServer

    srv = LoopServer(create_app(Settings(port=0)), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(timeout=5)


def test_a_long_advance_does_not_stall_other_accounts(
    loop_srv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event-loop server ran every request inline: another account's request waited for
    the whole advance (15.3 s in the report). The advance below holds its thread until the
    other account has been answered; inline, the other request could never be answered."""
    from stripe_mock_billing.billing import engine

    url = f"http://127.0.0.1:{loop_srv.port}"
    a = stripe.StripeClient(
        "sk_test_long_" + uuid.uuid4().hex, base_addresses={"api": url}, max_network_retries=0
    )
    clock_id, _ = _clocked_subscription(a)
    other_answered = threading.Event()
    real = engine.advance_clock

    def slow_advance(ns: Any, clock: str, until: int) -> None:
        other_answered.wait(timeout=10)
        real(ns, clock, until)

    monkeypatch.setattr(engine, "advance_clock", slow_advance)
    result: dict[str, Any] = {}

    def advance() -> None:
        result["clock"] = a.v1.test_helpers.test_clocks.advance(
            clock_id, {"frozen_time": FEB1_2025}
        )

    worker = threading.Thread(target=advance)
    worker.start()
    b_key = "sk_test_other_" + uuid.uuid4().hex
    r = requests.post(
        url + "/v1/customers",
        data={"name": "b"},
        headers={"Authorization": f"Bearer {b_key}"},
        timeout=5,
    )
    assert r.status_code == 200
    assert not result  # the advance was still running
    other_answered.set()
    worker.join(timeout=10)
    assert result["clock"].frozen_time == FEB1_2025
    # the same account's next request queues behind its advance, in order
    assert a.v1.test_helpers.test_clocks.retrieve(clock_id).frozen_time == FEB1_2025


# --- 4. snapshot import accepts only the snapshot's schema ------------------------------------


def _snapshot_with(state: dict[str, Any]) -> dict[str, Any]:
    return {"format": "stripe-mock-billing/account-snapshot", "format_version": 1, "state": state}


def _import_error(mock: Any, snap: dict[str, Any]) -> str:
    from stripe_mock_billing.handle import ControlError

    with pytest.raises(ControlError) as exc:
        mock.import_state(snap)
    assert exc.value.status == 400
    err = exc.value.error
    assert (err["type"], err["param"]) == ("invalid_request_error", "state")
    return str(err["message"])


@pytest.mark.parametrize(
    ("enum_class", "message"),
    [
        (
            "stripe_mock_billing.billing.meter_identifiers:IdentifierIndex",
            "Invalid snapshot: extensions: stripe_mock_billing.billing.meter_identifiers:"
            "IdentifierIndex is not an enum",
        ),
        (
            "stripe_mock_billing.server:ThreadedServer",
            "Invalid snapshot: extensions: class stripe_mock_billing.server:ThreadedServer is "
            "not part of the snapshot format",
        ),
    ],
)
def test_an_enum_tag_cannot_instantiate_other_classes(
    client: stripe.StripeClient, mock: Any, enum_class: str, message: str
) -> None:
    """`$enum` called any class of the package with one argument: 218 bytes allocated an index
    of 30,000,000 slots (524 MB), or started a ThreadedServer (5 listening sockets)."""
    cus = client.v1.customers.create({"name": "kept"})
    snap = _snapshot_with(
        {"extensions": {"$id": 1, "$map": {"x": {"$enum": enum_class, "value": 30_000_000}}}}
    )
    assert _import_error(mock, snap) == message
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_a_wrongly_typed_field_is_refused(client: stripe.StripeClient, mock: Any) -> None:
    """A customer whose `created` was a string imported with 200; then every customer
    retrieve and list answered 500."""
    cus = client.v1.customers.create({"name": "kept"})
    snap = mock.export_state()
    customer = snap["state"]["customers"]["$map"][cus.id]
    customer["fields"]["created"] = "yesterday"
    assert _import_error(mock, snap) == (
        "Invalid snapshot: customers: stripe_mock_billing.domain.customers:Customer.created: "
        "str is not <class 'int'>"
    )
    assert client.v1.customers.retrieve(cus.id).name == "kept"
    customer["fields"]["created"] = 1735689600
    customer["fields"]["metadata"] = {"$id": 99999, "$map": {"k": 5}}
    assert "Customer.metadata" in _import_error(mock, snap)
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_a_table_holds_only_its_own_class(client: stripe.StripeClient, mock: Any) -> None:
    client.v1.products.create({"name": "p"})
    snap = mock.export_state()
    products = snap["state"]["products"]
    snap["state"]["customers"], snap["state"]["products"] = products, {"$id": 99999, "$map": {}}
    assert _import_error(mock, snap) == (
        "Invalid snapshot: customers must map ids to Customer objects"
    )


def test_column_store_invariants_are_checked(client: stripe.StripeClient, mock: Any) -> None:
    """An identifier index with no empty slot made every lookup probe forever."""
    meter = client.v1.billing.meters.create(
        {
            "display_name": "calls",
            "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
        }
    )
    cus = client.v1.customers.create({})
    client.v1.billing.meter_events.create(
        {"event_name": "api_calls", "payload": {"stripe_customer_id": cus.id, "value": "1"}}
    )
    snap = mock.export_state()
    index = snap["state"]["meter_events"]["fields"]["_identifiers"]["fields"]
    index["_used"] = 1_000
    assert _import_error(mock, snap) == (
        "Invalid snapshot: stripe_mock_billing.billing.meter_identifiers:IdentifierIndex: "
        "inconsistent columns"
    )
    assert client.v1.billing.meters.retrieve(meter.id).id == meter.id


def test_an_export_carries_its_format_version_and_imports_again(
    client: stripe.StripeClient, mock: Any
) -> None:
    _, cus = _clocked_subscription(client)
    snap = mock.export_state()
    assert (snap["format"], snap["format_version"]) == ("stripe-mock-billing/account-snapshot", 1)
    mock.import_state(json.loads(json.dumps(snap)))
    assert len(client.v1.subscriptions.list({"customer": cus}).data) == 1


# --- 5. the unexpected-error list is bounded ---------------------------------------------------


def test_unexpected_errors_are_bounded_and_keep_no_request_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every 500 kept its exception, whose traceback kept the request body alive in its frames'
    locals, forever: thirty 500s with 8 MB bodies held 560 MB."""
    from flask import request

    from stripe_mock_billing.app import create_app
    from stripe_mock_billing.config import Settings

    app = create_app(Settings(port=0))

    def boom() -> Any:
        body = request.get_data()  # a local that the traceback would keep
        raise RuntimeError(f"boom with {len(body)} bytes" + "!" * int(request.args["extra"]))

    monkeypatch.setitem(app.view_functions, "customers.create_customer", boom)
    big = b"&".join(b"k%d=" % i + b"a" * 100_000 for i in range(3))
    with ThreadedServer(app=app) as srv:
        for _ in range(120):
            r = send(srv, "sk_test_errors", "POST", "/v1/customers?extra=0", big)
            assert r.status_code == 500
        errors = app.extensions["stripe_mock_billing.errors"]
        assert len(errors) == 120  # counts every one, so `errors[seen:]` keeps working
        kept = list(errors)
        assert len(kept) == 100  # the newest 100
        assert errors[119:] == [kept[-1]]
        for _ in range(100):  # long messages: cut to 16 KiB, at most 1 MiB of them kept
            send(srv, "sk_test_errors", "POST", "/v1/customers?extra=50000", big)
    kept = list(errors)
    assert len(errors) == 220
    assert sum(len(str(e)) for e in kept) <= 1024 * 1024
    for err in kept:
        assert len(str(err)) <= 16 * 1024
        tb = err.__traceback__
        while tb is not None:
            assert all(
                not (isinstance(v, bytes | str) and len(v) >= 100_000)
                for v in tb.tb_frame.f_locals.values()
            )
            tb = tb.tb_next


# --- 6. API key sizes and idle accounts ----------------------------------------------------------


@pytest.mark.parametrize("length", [256, 60_000])
def test_an_absurdly_long_api_key_is_a_401(loop_srv: Any, length: int) -> None:
    """300 distinct 1 MB keys made 300 accounts (and 300 cached headers): 613 MB."""
    key = "sk_test_" + "k" * (length - len("sk_test_"))
    r = requests.get(
        f"http://127.0.0.1:{loop_srv.port}/v1/customers",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and "code" not in err
    assert err["message"] == "Invalid API Key provided: sk_test_" + "*" * 28 + "kkkk..."
    assert len(r.content) < 1024


def test_headers_over_64_kib_are_431_at_the_server(loop_srv: Any) -> None:
    """A 1 MB key does not even reach the app: the server refuses headers over 64 KiB."""
    r = requests.get(
        f"http://127.0.0.1:{loop_srv.port}/v1/customers",
        headers={"Authorization": "Bearer sk_test_" + "k" * (1024 * 1024)},
        timeout=30,
    )
    assert r.status_code == 431


def test_a_255_character_key_is_accepted(server: ThreadedServer) -> None:
    key = "sk_test_" + uuid.uuid4().hex + "k" * (255 - 8 - 32)
    assert len(key) == 255
    assert send(server, key, "GET", "/v1/customers", None, None).status_code == 200


def _customers(srv: ThreadedServer, key: str) -> list[str]:
    r = send(srv, key, "GET", "/v1/customers", None, None)
    assert r.status_code == 200
    return [c["name"] for c in r.json()["data"]]


def _create(srv: ThreadedServer, key: str) -> None:
    assert send(srv, key, "POST", "/v1/customers", b"name=" + key.encode()).status_code == 200


def test_idle_accounts_are_forgotten_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    from stripe_mock_billing import clock
    from stripe_mock_billing.config import Settings

    now = [1000.0]
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    with ThreadedServer(Settings(port=0, account_idle_ttl=60, max_accounts=0)) as srv:
        _create(srv, "sk_test_a")
        now[0] = 1050.0
        _create(srv, "sk_test_b")
        now[0] = 1070.0  # a idle for 70 s, b for 20 s: a new account drops a
        _create(srv, "sk_test_c")
        assert _customers(srv, "sk_test_a") == []
        assert _customers(srv, "sk_test_b") == ["sk_test_b"]


def test_least_recently_used_accounts_go_past_max_accounts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stripe_mock_billing import clock
    from stripe_mock_billing.config import Settings

    now = [0.0]

    def tick() -> float:
        now[0] += 1
        return now[0]

    monkeypatch.setattr(clock, "monotonic", tick)
    with ThreadedServer(Settings(port=0, account_idle_ttl=0, max_accounts=3)) as srv:
        for key in ("sk_test_a", "sk_test_b", "sk_test_c"):
            _create(srv, key)
        assert _customers(srv, "sk_test_a") == ["sk_test_a"]  # a is used again
        _create(srv, "sk_test_d")  # a 4th account: b, least recently used, goes
        assert _customers(srv, "sk_test_a") == ["sk_test_a"]
        assert _customers(srv, "sk_test_c") == ["sk_test_c"]
        assert _customers(srv, "sk_test_b") == []


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
    return requests.get(
        server.url + "/v1/customers",
        headers={"Authorization": f"Bearer {key}", "Stripe-Version": version},
        timeout=10,
    )


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


# --- 9. the journal's cap counts what it holds --------------------------------------------------


def test_the_journal_holds_what_its_cap_counts() -> None:
    """The 8 MiB cap counted Content-Length but kept the parsed form trees: 36 MB for a
    nominal 8 MB. Many small pairs make a tree several times its body's size."""
    import gc
    import tracemalloc

    from stripe_mock_billing.config import Settings

    body = "&".join(f"metadata[key{i:05d}]=value{i:05d}" for i in range(8600)).encode()
    assert 250_000 < len(body) < 262_144  # under the journal's 256 KiB per-body limit
    with ThreadedServer(Settings(port=0)) as srv:
        key = "sk_test_journal_" + uuid.uuid4().hex
        send(srv, key, "GET", "/v1/customers", None, None)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(60):  # 15 MB of bodies: the oldest are dropped past 8 MiB
                assert send(srv, key, "POST", "/v1/customers", body).status_code == 400
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        r = send(srv, key, "GET", "/_mock/journal?method=POST", None, None)
        entries = r.json()["data"]
        assert 25 <= len(entries) <= 33  # 8 MiB of 256 KB bodies
        assert entries[-1]["params"]["metadata"]["key08599"] == "value08599"
    assert held < 12 * 1024 * 1024, held


# --- 7. slow clients; 8. draining on SIGTERM ---------------------------------------------------


def _start_loop(**kw: Any) -> tuple[Any, threading.Thread]:
    from stripe_mock_billing.app import create_app
    from stripe_mock_billing.config import Settings
    from stripe_mock_billing.loop_server import LoopServer

    srv = LoopServer(create_app(Settings(port=0)), "127.0.0.1", 0, **kw)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    return srv, thread


def _read_all(sock: Any) -> bytes:
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, nothing sent
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nname=",  # body
    ],
)
def test_the_loop_server_closes_slow_clients(sent: bytes) -> None:
    """The event-loop server had no header or body timeout: such sockets stayed forever."""
    import socket

    srv, thread = _start_loop(header_timeout=0.3, body_timeout=0.3, idle_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(sent)
            answer = _read_all(s)  # returns once the server closes the connection
        assert answer == (
            b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert requests.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=5).ok
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def test_the_loop_server_caps_its_connections() -> None:
    import socket

    srv, thread = _start_loop(max_connections=3)
    try:
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(3)]
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as extra:
            assert _read_all(extra).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        for s in held:
            s.close()
        deadline = threading.Event()
        for _ in range(100):  # the server notices the closes
            try:
                if requests.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=5).ok:
                    break
            except requests.ConnectionError:
                deadline.wait(0.05)
        else:
            pytest.fail("the server never admitted a connection again")
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def test_threaded_mode_answers_health_checks_under_20_slow_sockets() -> None:
    """cheroot with 8 threads was taken down by 8 incomplete requests."""
    import socket

    from stripe_mock_billing.app import create_app
    from stripe_mock_billing.cli_server import make_cli_server
    from stripe_mock_billing.config import Settings

    srv = make_cli_server(create_app(Settings(port=0)), "127.0.0.1", 0, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.address()
    slow = []
    try:
        for _ in range(20):
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nn")
            slow.append(s)
        r = requests.get(f"http://{host}:{port}/healthz", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        for s in slow:
            s.close()
        srv.shutdown()
        thread.join(timeout=15)


def test_shutdown_drains_requests_in_flight() -> None:
    """SIGTERM stopped the loop at once: a response still held (here by a latency fault, as by
    a webhook delivery or a long advance) was never written."""
    srv, thread = _start_loop()
    url = f"http://127.0.0.1:{srv.port}"
    key = "sk_test_drain_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    r = requests.post(
        url + "/_mock/faults", json={"kind": "latency", "latency_ms": 600}, headers=auth, timeout=5
    )
    assert r.status_code == 200
    result: dict[str, Any] = {}

    def call() -> None:
        result["r"] = requests.post(
            url + "/v1/customers", data={"name": "late"}, headers=auth, timeout=10
        )

    worker = threading.Thread(target=call)
    worker.start()
    for _ in range(200):  # until the request is in flight
        if srv.connections and any(c.pending for c in list(srv.connections)):
            break
        threading.Event().wait(0.01)
    srv.shutdown()
    worker.join(timeout=10)
    thread.join(timeout=10)
    assert result["r"].status_code == 200 and result["r"].json()["name"] == "late"
    assert not thread.is_alive()


def test_an_idle_keep_alive_connection_is_closed_silently() -> None:
    import socket

    srv, thread = _start_loop(idle_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = _read_all(s)  # the answer, then the close after 0.3 s idle
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.count(b"HTTP/1.1") == 1  # no 408 on an idle connection
    finally:
        srv.shutdown()
        thread.join(timeout=10)


# --- persistence (--data PATH) ----------------------------------------------------------------


def test_data_keeps_accounts_across_restarts(tmp_path: Any) -> None:
    import signal

    from tests.api.test_server_cli import start

    data = tmp_path / "emulator.json"
    key = "sk_test_persist_" + uuid.uuid4().hex
    proc, url = start(["--port", "0", "--data", str(data)])
    try:
        c = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
        cus = c.v1.customers.create({"name": "kept", "metadata": {"k": "v"}})
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "saved 1 accounts" in err
    proc, url = start(["--port", "0", "--data", str(data)])
    try:
        c = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
        again = c.v1.customers.retrieve(cus.id)
        assert (again.name, again.metadata.to_dict()) == ("kept", {"k": "v"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_data_that_is_not_a_data_file_is_refused(tmp_path: Any) -> None:
    import subprocess
    import sys

    data = tmp_path / "emulator.json"
    data.write_text('{"format": "something else"}')
    proc = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "is not a stripe-mock-billing/data file" in proc.stderr
