"""The conformance driver's own plumbing: recording proxy, schema checks, ops table, report."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from conformance.driver import Result
from conformance.harness import CheckFailed, Scenario, T, Target
from conformance.ops import OPS, runner_request
from conformance.proxy import Exchange, RecordingProxy
from conformance.report import summary_lines, table
from conformance.sdks import ACACIA, SDKS
from stripe_mock_billing.server import ThreadedServer
from tests.schema_gate import SchemaGate


@pytest.fixture
def with_schema(openapi_schema: SchemaGate) -> None:
    """Stripe's OpenAPI specs at hand (the session fetched them if needed); skipped on opt-out."""
    if openapi_schema.opt_out:
        pytest.skip("schema validation opted out (--no-schema)")


class FakeRunner:
    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "value": None}


class FakeProxy:
    url = "http://127.0.0.1:1"

    def drain(self) -> list[Exchange]:
        return []


def make_t(sdk: str = "python-16.1.0", legacy: bool = False) -> T:
    sc = Scenario("x", "x", lambda t: None, "core", legacy=legacy)
    target = Target("http://127.0.0.1:1", emulator=True, shared_key=None)
    return T(sc, SDKS[sdk], FakeRunner(), FakeProxy(), target, "sk_test_x", True)  # type: ignore[arg-type]


def exchange(method: str, path: str, status: int, body: Any, version: str, **resp: str) -> Exchange:
    return Exchange(
        method=method,
        path=path,
        query="",
        status=status,
        req_headers={"Stripe-Version": version},
        resp_headers={"Stripe-Version": version, "Request-Id": "req_test", **resp},
        req_body="",
        resp_text=json.dumps(body),
        elapsed_ms=1.0,
        body=body,
        json_ok=True,
    )


def test_proxy_records_exchanges_and_forwards_unchanged() -> None:
    with ThreadedServer() as srv, RecordingProxy(srv.url) as proxy:
        req = urllib.request.Request(
            proxy.url + "/v1/customers",
            data=b"name=Ada&metadata[k]=v",
            headers={"Authorization": "Bearer sk_test_proxytest", "Idempotency-Key": "k1"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.loads(resp.read())
            request_id = resp.headers["Request-Id"]
        (ex,) = proxy.drain()
    assert body["name"] == "Ada" and body["metadata"] == {"k": "v"}
    assert (ex.method, ex.path, ex.status) == ("POST", "/v1/customers", 200)
    assert ex.body == body and ex.header("request-id") == request_id
    assert ex.req_header("Idempotency-Key") == "k1"
    assert proxy.drain() == []


def test_schema_violation_fails_the_step(with_schema: None) -> None:
    t = make_t()
    good = {
        "id": "cus_1",
        "object": "customer",
        "deleted": True,
    }
    t._validate("ok", exchange("DELETE", "/v1/customers/cus_1", 200, good, "2026-10-28.endive"))
    bad = {"error": {"message": "no type"}}
    with pytest.raises(CheckFailed, match="schema"):
        t._validate("bad", exchange("GET", "/v1/customers/cus_1", 404, bad, ACACIA))
    meter = {"object": "billing.meter", "id": "mtr_1", "status": "paused"}
    with pytest.raises(CheckFailed, match="schema"):
        t._validate("bad", exchange("GET", "/v1/billing/meters/mtr_1", 200, meter, ACACIA))


def test_unknown_route_error_is_checked_against_the_error_envelope(with_schema: None) -> None:
    t = make_t()
    err = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
    t._validate("x", exchange("POST", "/v1/nope/x", 404, err, "2026-10-28.endive"))
    with pytest.raises(CheckFailed):
        t._validate("x", exchange("POST", "/v1/nope/x", 404, {"error": {}}, "2026-10-28.endive"))
    with pytest.raises(CheckFailed, match="no OpenAPI operation"):
        t._validate("x", exchange("GET", "/v1/nope", 200, {}, "2026-10-28.endive"))


def test_every_response_needs_request_id_and_version_echo() -> None:
    t = make_t()
    body = {"id": "cus_1", "object": "customer", "deleted": True}
    ex = exchange("DELETE", "/v1/customers/cus_1", 200, body, "2026-10-28.endive")
    ex.resp_headers = {"Stripe-Version": "2026-10-28.endive"}
    with pytest.raises(CheckFailed, match="Request-Id"):
        t._validate("x", ex)
    ex = exchange("DELETE", "/v1/customers/cus_1", 200, body, "2026-10-28.endive")
    ex.resp_headers["Stripe-Version"] = ACACIA
    with pytest.raises(CheckFailed, match="Stripe-Version"):
        t._validate("x", ex)


def test_checks_and_per_request_versions() -> None:
    t = make_t()
    assert t.version == "2026-10-28.endive"
    with pytest.raises(CheckFailed, match="expected 'b', got 'a'"):
        t.eq("a", "b", "what")
    legacy = make_t("python-16.1.0", legacy=True)
    assert legacy.version == ACACIA and legacy._options({}) == {"api_version": ACACIA}
    assert make_t("python-11.6.1", legacy=True)._options({}) == {}


def test_ops_map_to_each_sdk() -> None:
    usage = ("si_1",)
    py11 = runner_request("py11", "usage_records.create", usage, {"quantity": 1}, {}, None)
    assert py11["cmd"] == "call" and py11["path"] == "subscription_items.usage_records.create"
    py16 = runner_request(
        "py16", "usage_records.create", usage, {"quantity": 1}, {"api_version": ACACIA}, None
    )
    assert py16 == {
        "cmd": "raw",
        "method": "post",
        "path": "/v1/subscription_items/si_1/usage_records",
        "params": {"quantity": 1},
        "options": {"api_version": ACACIA},
    }
    assert runner_request("py16", "customers.list", (), None, {}, "auto")["path"] == (
        "v1.customers.list"
    )
    node17 = runner_request("node17", "v2.meter_event_stream.create", (), {}, {}, None)
    assert node17["options"] == {"host": "$HOST"}
    node23 = runner_request("node23", "v2.meter_event_stream.create", (), {}, {}, None)
    assert node23["options"] == {}
    assert all(op.path.startswith(("/v1/", "/v2/")) for op in OPS.values())


def test_report_table_and_final_line() -> None:
    results = [
        Result("a", "A", "core", "python-11.6.1", "pass"),
        Result("a", "A", "core", "node-23", "fail", "boom"),
        Result("b", "B", "core", "python-11.6.1", "xfail", "known"),
        Result("b", "B", "core", "node-23", "pending", "not yet"),
    ]
    text = table(results, ["python-11.6.1", "node-23"])
    assert "FAIL [1]" in text and "[1] fail: boom" in text and "pending [3]" in text
    assert summary_lines(results)[-1] == "1 passed, 1 failed"


def test_pending_and_emulator_only_scenarios_do_not_run() -> None:
    from conformance.driver import RunOptions, _run_one

    def boom(t: T) -> None:
        raise AssertionError("must not run")

    stripe_target = Target("https://api.stripe.com", emulator=False, shared_key="sk_test_x")
    opts = RunOptions(sdks=[], target=stripe_target, validate=False)
    sdk = SDKS["node-23"]
    pending = Scenario("p", "p", boom, "core", pending="not landed")
    res = _run_one(pending, sdk, None, None, opts)  # type: ignore[arg-type]
    assert (res.status, res.reason) == ("pending", "not landed")
    emu = Scenario("e", "e", boom, "emulator", emulator_only=True)
    assert _run_one(emu, sdk, None, None, opts).status == "skipped"  # type: ignore[arg-type]
