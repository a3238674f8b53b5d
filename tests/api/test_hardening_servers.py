"""Issue 14 (hardening), the servers: slow clients, connection caps, draining on SIGTERM, and
optional persistence (--data)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests

from tests.api.hardening_helpers import (
    read_all,
    start_loop,
)
from tests.conftest import make_client, validated

# --- 7. slow clients; 8. draining on SIGTERM ---------------------------------------------------


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

    srv, thread = start_loop(header_timeout=0.3, body_timeout=0.3, idle_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(sent)
            answer = read_all(s)  # returns once the server closes the connection
        assert answer == (
            b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert requests.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=5).ok  # no schema
    finally:
        srv.shutdown()
        thread.join(timeout=10)


def test_the_loop_server_caps_its_connections() -> None:
    import socket

    srv, thread = start_loop(max_connections=3)
    try:
        held = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(3)]
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as extra:
            assert read_all(extra).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        for s in held:
            s.close()
        deadline = threading.Event()
        for _ in range(100):  # the server notices the closes (/healthz: emulator-only)
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
        r = requests.get(f"http://{host}:{port}/healthz", timeout=5)  # emulator-only: no schema
        assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        for s in slow:
            s.close()
        srv.shutdown()
        thread.join(timeout=15)


def test_shutdown_drains_requests_in_flight() -> None:
    """SIGTERM stopped the loop at once: a response still held (here by a latency fault, as by
    a webhook delivery or a long advance) was never written."""
    srv, thread = start_loop()
    url = f"http://127.0.0.1:{srv.port}"
    key = "sk_test_drain_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    r = requests.post(  # the control API: emulator-only, no schema
        url + "/_mock/faults", json={"kind": "latency", "latency_ms": 600}, headers=auth, timeout=5
    )
    assert r.status_code == 200
    result: dict[str, Any] = {}

    def call() -> None:
        # the response is schema-checked (validated) once the thread is done
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
    assert validated(result["r"]).status_code == 200 and result["r"].json()["name"] == "late"
    assert not thread.is_alive()


def test_an_idle_keep_alive_connection_is_closed_silently() -> None:
    import socket

    srv, thread = start_loop(idle_timeout=0.3)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_all(s)  # the answer, then the close after 0.3 s idle
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.count(b"HTTP/1.1") == 1  # no 408 on an idle connection
    finally:
        srv.shutdown()
        thread.join(timeout=10)


# --- persistence (--data PATH) ----------------------------------------------------------------


def test_data_keeps_accounts_across_restarts(tmp_path: Any, schema_violations: list[str]) -> None:
    import signal

    from tests.api.test_server_cli import start

    data = tmp_path / "emulator.json"
    key = "sk_test_persist_" + uuid.uuid4().hex
    proc, url = start(["--port", "0", "--data", str(data)])
    try:
        c = make_client(url, key, schema_violations)
        cus = c.v1.customers.create({"name": "kept", "metadata": {"k": "v"}})
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "saved 1 accounts" in err
    proc, url = start(["--port", "0", "--data", str(data)])
    try:
        c = make_client(url, key, schema_violations)
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
