"""The CLI's default HTTP server (loop_server.py): HTTP/1.1 details and held-back latency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from stripe_mock_billing import loop_connection
from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.loop_server import LoopServer
from tests.conftest import make_client, validated, validated_raw


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopServer]:
    srv = LoopServer(create_app(Settings(port=0)), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(timeout=5)


def _url(srv: LoopServer) -> str:
    return f"http://127.0.0.1:{srv.port}"


def _raw(srv: LoopServer, data: bytes, *, reads: int = 1, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and out.count(b"HTTP/1.1 ") < reads:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def _response(raw: bytes) -> tuple[int, CaseInsensitiveDict[str], bytes]:
    """Status, headers and body of the last response in bytes read off a socket."""
    last = raw[raw.rindex(b"HTTP/1.1 ") :]
    head, _, body = last.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = CaseInsensitiveDict(dict(line.split(": ", 1) for line in lines))
    return int(status_line.split()[1]), headers, body[: int(headers["Content-Length"])]


def test_sdk_round_trips_over_keep_alive(
    loop: LoopServer, api_key: str, schema_violations: list[str]
) -> None:
    client = make_client(_url(loop), api_key, schema_violations)
    made = client.v1.customers.create({"name": "Ada", "metadata": {"0": "x"}})
    again = client.v1.customers.retrieve(made.id)
    assert (again.name, again.metadata.to_dict()) == ("Ada", {"0": "x"})
    listed = client.v1.customers.list({"limit": 1})
    assert [c.id for c in listed.data] == [made.id]


def test_pipelined_requests_answer_in_order(loop: LoopServer) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    two = b"GET /v1/nope HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_pipe\r\n\r\n"
    out = _raw(loop, one + two, reads=2)
    # neither is validated: /healthz is emulator-only and /v1/nope is no operation of the spec
    first, second = out.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"200 ")
    assert b'"status":"ok"' in first
    assert second.startswith(b"404 ")
    assert b"Unrecognized request URL (GET: /v1/nope)" in second


def test_a_pipelined_answer_waits_behind_a_held_back_one(loop: LoopServer, api_key: str) -> None:
    """Answers go out in request order even when the first is held back (a latency fault) and
    the one behind it is ready at once: it is queued, not written ahead."""
    armed = requests.post(  # the control API: emulator-only, no schema
        _url(loop) + "/_mock/faults",
        json={"kind": "latency", "method": "GET", "path": "/v1/customers", "latency_ms": 300},
        auth=(api_key, ""),
        timeout=5,
    )
    assert armed.status_code == 200, armed.text
    one = f"GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api_key}\r\n\r\n"
    two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    t0 = time.monotonic()
    out = _raw(loop, (one + two).encode(), reads=2)
    assert time.monotonic() - t0 >= 0.3
    first, second = out.split(b"HTTP/1.1 ")[1:3]
    assert first.startswith(b"200 ")
    assert b'"object":"list"' in first
    validated_raw("GET", "/v1/customers", *_response(b"HTTP/1.1 " + first))
    assert second.startswith(b"200 ")  # /healthz: emulator-only, no schema
    assert b'"status":"ok"' in second


def test_expect_100_continue_and_chunked_body(loop: LoopServer, api_key: str) -> None:
    body = b"name=" + b"a" * 200 + b"".join(b"&metadata[k%d]=" % i + b"v" * 400 for i in range(3))
    head = (
        "POST /v1/customers HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {api_key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = b"".join(
        f"{len(body[i : i + 500]):x}\r\n".encode() + body[i : i + 500] + b"\r\n"
        for i in range(0, len(body), 500)
    )
    out = _raw(loop, head + chunks + b"0\r\n\r\n", reads=2)
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    validated_raw("POST", "/v1/customers", *_response(out))
    got = requests.get(_url(loop) + "/v1/customers", auth=(api_key, ""), timeout=5)
    listed = validated(got).json()["data"]
    assert listed[0]["metadata"] == {f"k{i}": "v" * 400 for i in range(3)}


def test_head_has_headers_and_no_body(loop: LoopServer) -> None:
    # /healthz is emulator-only (and a HEAD has no body): nothing to validate
    out = _raw(loop, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: " in head
    assert b"Connection: close" in head
    assert rest == b""


def test_malformed_request_is_400_and_closed(loop: LoopServer) -> None:
    # not HTTP, so no operation: the server's own 400, no schema applies
    out = _raw(loop, b"THIS IS NOT HTTP\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 Bad Request")
    assert b"Connection: close" in out


def test_oversized_body_is_413(loop: LoopServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_connection, "MAX_BODY", 1000)
    # the server's bare 413 (no body) precedes the API: no operation's response to validate
    head = (
        b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    out = _raw(loop, head + b"a" * 5000)
    assert out.startswith(b"HTTP/1.1 413 ")


def test_latency_fault_holds_the_response_without_blocking_others(
    loop: LoopServer, api_key: str
) -> None:
    url = _url(loop)
    armed = requests.post(  # the control API: emulator-only, no schema
        url + "/_mock/faults",
        json={"kind": "latency", "method": "GET", "path": "/v1/customers", "latency_ms": 800},
        auth=(api_key, ""),
        timeout=5,
    )
    assert armed.status_code == 200, armed.text
    slow_elapsed: list[float] = []

    def slow() -> None:
        t0 = time.monotonic()
        r = requests.get(url + "/v1/customers", auth=(api_key, ""), timeout=10)
        assert validated(r).status_code == 200
        slow_elapsed.append(time.monotonic() - t0)

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    fast = requests.get(url + "/healthz", timeout=5)  # emulator-only: no schema
    fast_elapsed = time.monotonic() - t0
    worker.join(timeout=10)
    assert fast.status_code == 200
    assert fast_elapsed < 0.5
    assert slow_elapsed and slow_elapsed[0] >= 0.8
