"""Idempotency keys on v1 POSTs (wire-format.md §10): replay, mismatch, in-flight 409, what is
stored and what is not, bounded memory."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing import clock
from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.resources import customers as customers_module
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import err_of, make_client, validated


def post(client: stripe.StripeClient, path: str, key: str, **params: Any) -> Any:
    return client.raw_request("post", path, idempotency_key=key, **params)


def test_replay_returns_same_status_and_body_and_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    first = post(client, "/v1/customers", "key-1", name="Ada", metadata={"a": "1"})
    again = post(client, "/v1/customers", "key-1", metadata={"a": "1"}, name="Ada")
    assert again.code == first.code == 200
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Original-Request"] == first.headers["Request-Id"]
    assert first.headers["Original-Request"] == first.headers["Request-Id"]
    assert again.headers["Request-Id"] != first.headers["Request-Id"]
    assert again.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] == "key-1"
    assert len(client.v1.customers.list().data) == 1


def test_sdk_request_option_idempotency_key(client: stripe.StripeClient) -> None:
    a = client.v1.products.create({"name": "p"}, {"idempotency_key": "prod-key"})
    b = client.v1.products.create({"name": "p"}, {"idempotency_key": "prod-key"})
    assert a.id == b.id
    assert b.last_response is not None
    assert b.last_response.headers["Idempotent-Replayed"] == "true"
    assert [p.id for p in client.v1.products.list().data] == [a.id]


def test_sdk_auto_keys_make_every_post_new(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create({"name": "same"})
    b = client.v1.customers.create({"name": "same"})
    assert a.id != b.id


def test_same_key_other_params_is_idempotency_error(client: stripe.StripeClient) -> None:
    post(client, "/v1/customers", "k-mismatch", name="one")
    with pytest.raises(stripe.IdempotencyError) as exc:
        post(client, "/v1/customers", "k-mismatch", name="two")
    assert exc.value.http_status == 400
    e = err_of(exc)
    assert e["type"] == "idempotency_error"
    assert "code" not in e
    assert e["message"] == (
        "Keys for idempotent requests can only be used with the same parameters they were first "
        "used with. Try using a key other than 'k-mismatch' if you meant to execute a different "
        "request."
    )
    assert len(client.v1.customers.list().data) == 1


def test_same_key_other_endpoint_is_idempotency_error(client: stripe.StripeClient) -> None:
    post(client, "/v1/products", "k-endpoint", name="x")
    with pytest.raises(stripe.IdempotencyError):
        post(client, "/v1/customers", "k-endpoint", name="x")


class Stall:
    """Customer creates stop inside their handler (after the key is claimed) until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        real = customers_module._apply

        def stalled(cust: Any, prm: Any) -> None:
            self.entered.set()
            self.release.wait(10)
            real(cust, prm)

        monkeypatch.setattr(customers_module, "_apply", stalled)


def test_key_in_use_while_first_request_runs_is_409(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall = Stall(monkeypatch)
    results: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: results.update(first=post(client, "/v1/customers", "busy", name="a"))
    )
    t.start()
    try:
        assert stall.entered.wait(5)  # the first request holds the key, mid-handler
        with pytest.raises(stripe.APIError) as exc:
            post(client, "/v1/customers", "busy", name="a")
        assert exc.value.http_status == 409
        e = err_of(exc)
        assert (e["type"], e["code"], e.get("param")) == (
            "invalid_request_error",
            "idempotency_key_in_use",
            None,
        )
        assert e["message"] == (
            "There is currently another in-progress request using this Idempotent Key (that "
            "probably means you submitted twice, and the other request is still going through): "
            "busy. Please try again later."
        )
    finally:
        stall.release.set()
        t.join(5)
    assert results["first"].code == 200
    replay = post(client, "/v1/customers", "busy", name="a")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.body == results["first"].body
    assert len(client.v1.customers.list().data) == 1


def test_sdk_retries_a_409_and_gets_the_replay(
    server: ThreadedServer,
    api_key: str,
    mock: StripeMock,
    schema_violations: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With retries on (the SDK default), a 409 is retried and ends as the stored replay."""
    plain = make_client(server.url, api_key, schema_violations)
    retrying = make_client(server.url, api_key, schema_violations, max_network_retries=3)
    stall = Stall(monkeypatch)
    results: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: results.update(first=post(plain, "/v1/customers", "retry-me", name="r"))
    )
    t.start()
    try:
        assert stall.entered.wait(5)
        t2 = threading.Thread(
            target=lambda: results.update(
                second=post(retrying, "/v1/customers", "retry-me", name="r")
            )
        )
        t2.start()
        deadline = time.monotonic() + 5  # until the retrying client has seen a 409
        while time.monotonic() < deadline and 409 not in [
            e.status for e in mock.journal("POST", "/v1/customers")
        ]:
            time.sleep(0.01)
    finally:
        stall.release.set()
    t.join(5)
    t2.join(10)
    second = results["second"]
    assert second.code == 200 and second.body == results["first"].body
    assert second.headers["Idempotent-Replayed"] == "true"
    statuses = [e.status for e in mock.journal("POST", "/v1/customers")]
    assert statuses[-1] == 200 and 409 in statuses


def test_validation_failures_are_not_stored(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        post(client, "/v1/customers", "fix-me", name="x", bogus="1")
    assert err_of(exc)["code"] == "parameter_unknown"
    ok = post(client, "/v1/customers", "fix-me", name="x")
    assert ok.code == 200 and "Idempotent-Replayed" not in ok.headers
    with pytest.raises(stripe.InvalidRequestError):
        post(client, "/v1/prices", "fix-me-2", currency="usd", unit_amount="1.5", product="p")
    with pytest.raises(stripe.InvalidRequestError) as exc:  # nothing stored: runs again
        post(client, "/v1/prices", "fix-me-2", currency="usd", unit_amount="1.5", product="p")
    assert "Idempotent-Replayed" not in (exc.value.headers or {})


def test_errors_after_execution_started_are_stored_and_replayed(
    client: stripe.StripeClient,
) -> None:
    items = [{"price": "price_nope"}]
    with pytest.raises(stripe.InvalidRequestError) as first:
        post(client, "/v1/subscriptions", "late-error", customer="cus_nope", items=items)
    assert err_of(first)["code"] == "resource_missing"
    assert "Idempotent-Replayed" not in (first.value.headers or {})
    with pytest.raises(stripe.InvalidRequestError) as again:
        post(client, "/v1/subscriptions", "late-error", customer="cus_nope", items=items)
    assert (again.value.headers or {})["Idempotent-Replayed"] == "true"
    assert again.value.http_body == first.value.http_body
    assert again.value.http_status == 400


def test_500_is_stored_and_replayed(
    monkeypatch: pytest.MonkeyPatch, schema_violations: list[str]
) -> None:
    calls = []

    def boom(cust: Any, prm: Any) -> None:
        calls.append(1)
        raise RuntimeError("bug")

    app = create_app(Settings(port=0))
    monkeypatch.setattr(customers_module, "_apply", boom)
    with ThreadedServer(app=app) as srv:
        c = make_client(srv.url, "sk_test_500", schema_violations)
        with pytest.raises(stripe.APIError) as first:
            post(c, "/v1/customers", "k500", name="x")
        monkeypatch.undo()
        with pytest.raises(stripe.APIError) as again:
            post(c, "/v1/customers", "k500", name="x")
        assert again.value.http_status == 500
        assert (again.value.headers or {})["Idempotent-Replayed"] == "true"
        assert again.value.http_body == first.value.http_body
        assert len(calls) == 1
        assert post(c, "/v1/customers", "k500-new", name="x").code == 200


def test_get_and_delete_ignore_the_key(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({})
    r1 = client.raw_request("get", f"/v1/customers/{cus.id}", idempotency_key="get-key")
    client.v1.customers.update(cus.id, {"name": "changed"})
    r2 = client.raw_request("get", f"/v1/customers/{cus.id}", idempotency_key="get-key")
    assert r2.data["name"] == "changed" and r1.data["name"] is None
    assert "Idempotent-Replayed" not in r2.headers


def test_keys_are_per_account(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    a = make_client(server.url, api_key, schema_violations)
    b = make_client(server.url, api_key + "_other", schema_violations)
    ra = post(a, "/v1/customers", "shared-key", name="a")
    rb = post(b, "/v1/customers", "shared-key", name="b")
    assert ra.data["id"] != rb.data["id"]
    assert "Idempotent-Replayed" not in rb.headers


# Stripe's answer to a key outside 1-255 characters, as quoted from real 400s (type
# idempotency_error, no code, no param)
KEY_LENGTH = (
    "Idempotent key length is {} characters long, which is outside accepted lengths. "
    "Idempotent Keys must be 1-255 characters long. If you're looking for a decent generator, "
    "try using a UUID defined by IETF RFC 4122."
)


def test_too_long_key(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.IdempotencyError) as exc:
        post(client, "/v1/customers", "k" * 256, name="x")
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["type"], e.get("code"), e.get("param")) == ("idempotency_error", None, None)
    assert e["message"] == KEY_LENGTH.format(256)
    assert client.v1.customers.list().data == []
    assert post(client, "/v1/customers", "k" * 255, name="x").code == 200


def test_empty_key_is_a_key_of_length_zero(server: ThreadedServer, api_key: str) -> None:
    h = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": ""}
    r = validated(requests.post(server.url + "/v1/customers", data="name=a", headers=h))
    assert r.status_code == 400
    e = r.json()["error"]
    assert (e["type"], e.get("code"), e.get("param")) == ("idempotency_error", None, None)
    assert e["message"] == KEY_LENGTH.format(0)
    # nothing was written, and a one-character key is accepted
    listed = validated(requests.get(server.url + "/v1/customers", headers=h))
    assert listed.json()["data"] == []
    h["Idempotency-Key"] = "k"
    ok = validated(requests.post(server.url + "/v1/customers", data="name=a", headers=h))
    assert ok.status_code == 200


def test_memory_is_bounded_oldest_evicted_first(schema_violations: list[str]) -> None:
    app = create_app(Settings(port=0, idempotency_max_keys=3))
    with ThreadedServer(app=app) as srv:
        c = make_client(srv.url, "sk_test_bounded", schema_violations)
        ids = [post(c, "/v1/customers", f"k{i}", name="x").data["id"] for i in range(10)]
        # the newest keys still replay ...
        for i in (9, 8):
            replay = post(c, "/v1/customers", f"k{i}", name="x")
            assert (replay.data["id"], replay.headers["Idempotent-Replayed"]) == (ids[i], "true")
        # ... and an older one was evicted: it executes as a new request
        fresh = post(c, "/v1/customers", "k6", name="x")
        assert fresh.data["id"] not in ids and "Idempotent-Replayed" not in fresh.headers


def test_replays_keep_all_of_the_newest_keys(schema_violations: list[str]) -> None:
    """With room for 3 keys, the 3 newest all replay, whichever order they come in: a replay
    does not push out another stored key."""
    app = create_app(Settings(port=0, idempotency_max_keys=3))
    with ThreadedServer(app=app) as srv:
        c = make_client(srv.url, "sk_test_bounded_replays", schema_violations)
        ids = [post(c, "/v1/customers", f"k{i}", name="x").data["id"] for i in range(5)]
        for i in (4, 3, 2, 4, 2, 3):
            replay = post(c, "/v1/customers", f"k{i}", name="x")
            assert (replay.data["id"], replay.headers["Idempotent-Replayed"]) == (ids[i], "true")
        # a 4th key pushes out the oldest of the three (k2), not a newer one
        post(c, "/v1/customers", "k5", name="x")
        again = post(c, "/v1/customers", "k2", name="x")
        assert again.data["id"] != ids[2] and "Idempotent-Replayed" not in again.headers


def test_keys_expire_after_the_ttl(
    client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = post(client, "/v1/customers", "old-key", name="x").data["id"]
    later = clock.real_time_float() + 24 * 3600 + 1
    monkeypatch.setattr(clock, "real_time_float", lambda: later)
    again = post(client, "/v1/customers", "old-key", name="x")
    assert again.data["id"] != first
    assert "Idempotent-Replayed" not in again.headers


def test_raw_form_replay(server: ThreadedServer, api_key: str) -> None:
    h = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "raw-1"}
    r1 = validated(
        requests.post(server.url + "/v1/products", data="name=a&metadata[x]=1", headers=h)
    )
    r2 = validated(
        requests.post(server.url + "/v1/products", data="metadata[x]=1&name=a", headers=h)
    )
    assert r1.status_code == r2.status_code == 200
    assert r1.content == r2.content
    assert r2.headers["Idempotent-Replayed"] == "true"


def test_concurrent_same_key_creates_exactly_one(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    client = make_client(server.url, api_key, schema_violations)
    outcomes: list[Any] = []

    def worker() -> None:
        try:
            outcomes.append(post(client, "/v1/customers", "race", name="r").data["id"])
        except stripe.APIError as err:
            outcomes.append(err.http_status)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    ids = {o for o in outcomes if isinstance(o, str)}
    assert len(outcomes) == 12
    assert len(ids) == 1  # every success is the same customer (first run or replays)
    assert all(o == 409 for o in outcomes if not isinstance(o, str))
    assert [c.id for c in client.v1.customers.list().data] == list(ids)


def test_concurrent_creates_in_one_account_are_all_kept(
    server: ThreadedServer, api_key: str, schema_violations: list[str]
) -> None:
    client = make_client(server.url, api_key, schema_violations)
    made: list[str] = []
    threads = [
        threading.Thread(
            target=lambda i=i: made.append(client.v1.customers.create({"name": f"c{i}"}).id)
        )
        for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    listed = [c.id for c in client.v1.customers.list({"limit": 100}).data]
    assert sorted(listed) == sorted(made) and len(made) == 16
