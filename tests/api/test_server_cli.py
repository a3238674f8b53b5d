"""The CLI server as a user runs it: `python -m stripe_mock_billing` and `stripe-mock-billing`,
its URL line, /healthz, env vars, clean shutdown on SIGTERM / SIGINT."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import stripe

from stripe_mock_billing import __version__
from stripe_mock_billing.config import Settings
from stripe_mock_billing.server import ThreadedServer
from tests.conftest import make_client, validated

CONSOLE_SCRIPT = Path(sys.executable).with_name("stripe-mock-billing")
URL_LINE = re.compile(r"stripe-mock-billing \S+ listening on (http://[\d.]+:\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    args: list[str], env: dict[str, str] | None = None, module: bool = True
) -> tuple[subprocess.Popen[str], str]:
    cmd = (
        [sys.executable, "-m", "stripe_mock_billing", *args]
        if module
        else [
            str(CONSOLE_SCRIPT),
            *args,
        ]
    )
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = URL_LINE.search(line)
    if m is None:
        proc.kill()
        _, err = proc.communicate(timeout=5)
        pytest.fail(f"no URL line: {line!r} stderr={err!r}")
    return proc, m.group(1)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test; killed if the test left them running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, float, str]:
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=5)
    return proc.returncode, time.monotonic() - t0, err


def test_module_prints_url_and_serves_healthz(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    proc, url = start(["--port", str(port)])
    procs.append(proc)
    assert url == f"http://127.0.0.1:{port}"
    r = requests.get(url + "/healthz", timeout=5)  # emulator-only route: no schema
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


def test_serves_the_sdk(procs: list[subprocess.Popen[str]], schema_violations: list[str]) -> None:
    proc, url = start(["--port", "0"])
    procs.append(proc)
    client = make_client(url, "sk_test_cli", schema_violations)
    cus = client.v1.customers.create({"name": "over the CLI"})
    assert client.v1.customers.retrieve(cus.id).name == "over the CLI"


@pytest.mark.parametrize("mode", [[], ["--threaded"], ["--verbose"]])
def test_every_server_mode_serves_the_sdk(
    procs: list[subprocess.Popen[str]], mode: list[str], schema_violations: list[str]
) -> None:
    proc, url = start(["--port", "0", *mode])
    procs.append(proc)
    client = make_client(url, "sk_test_cli_mode", schema_violations)
    cus = client.v1.customers.create({"name": " ".join(mode) or "loop"})
    assert client.v1.customers.retrieve(cus.id).name == (" ".join(mode) or "loop")
    code, _, err = stop(proc, signal.SIGTERM)
    assert code == 0, err


@pytest.mark.parametrize("mode", [[], ["--threaded"]])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_cleanly(
    procs: list[subprocess.Popen[str]], sig: int, mode: list[str]
) -> None:
    proc, url = start(["--port", "0", *mode])
    procs.append(proc)
    # a kept-alive connection must not keep it from stopping (/healthz: emulator-only, no schema)
    session = requests.Session()
    assert session.get(url + "/healthz", timeout=5).status_code == 200
    code, took, err = stop(proc, sig)
    assert code == 0, err
    assert took < 2.0
    assert "stripe-mock-billing stopped" in err
    assert "Traceback" not in err
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/healthz", timeout=1)


def test_env_vars_host_and_port(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    proc, url = start(
        [], env={"STRIPE_MOCK_BILLING_HOST": "127.0.0.1", "STRIPE_MOCK_BILLING_PORT": str(port)}
    )
    procs.append(proc)
    assert url == f"http://127.0.0.1:{port}"
    assert requests.get(url + "/healthz", timeout=5).json()["status"] == "ok"


def test_flags_override_env(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    proc, url = start(["--port", str(port)], env={"STRIPE_MOCK_BILLING_PORT": "1"})
    procs.append(proc)
    assert url.endswith(f":{port}")


def test_api_version_flag_and_env(procs: list[subprocess.Popen[str]]) -> None:
    proc, url = start(["--port", "0", "--api-version", "2025-03-31.basil"])
    procs.append(proc)
    auth = {"Authorization": "Bearer sk_test_v"}
    r = validated(requests.get(url + "/v1/customers", headers=auth, timeout=5))
    assert r.headers["Stripe-Version"] == "2025-03-31.basil"
    proc2, url2 = start(["--port", "0"], env={"STRIPE_MOCK_BILLING_API_VERSION": "2024-06-20"})
    procs.append(proc2)
    r = validated(requests.get(url2 + "/v1/customers", headers=auth, timeout=5))
    assert r.headers["Stripe-Version"] == "2024-06-20"


def test_console_script(procs: list[subprocess.Popen[str]]) -> None:
    assert CONSOLE_SCRIPT.exists()
    proc, url = start(["--port", "0"], module=False)
    procs.append(proc)
    assert requests.get(url + "/healthz", timeout=5).json()["version"] == __version__
    code, took, _ = stop(proc, signal.SIGTERM)
    assert code == 0 and took < 2.0


def test_version_and_help() -> None:
    out = subprocess.run(
        [str(CONSOLE_SCRIPT), "--version"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0 and out.stdout.strip() == __version__
    out = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "--port" in out.stdout and "--api-version" in out.stdout


@pytest.mark.parametrize(
    ("args", "env", "text"),
    [
        (["--api-version", "nonsense"], {}, "Invalid Stripe API version: nonsense"),
        ([], {"STRIPE_MOCK_BILLING_PORT": "eighty"}, "STRIPE_MOCK_BILLING_PORT"),
        ([], {"STRIPE_MOCK_BILLING_RATE_LIMIT": "many"}, "STRIPE_MOCK_BILLING_RATE_LIMIT"),
        (["--rate-limit", "-1"], {}, "--rate-limit must be 0 (off) or a positive number"),
    ],
)
def test_bad_configuration_exits_with_usage_error(
    args: list[str], env: dict[str, str], text: str
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
    )
    assert out.returncode == 2
    assert text in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "env"), [(["--rate-limit", "3"], {}), ([], {"STRIPE_MOCK_BILLING_RATE_LIMIT": "3"})]
)
def test_rate_limit_flag_and_env(
    procs: list[subprocess.Popen[str]], args: list[str], env: dict[str, str]
) -> None:
    proc, url = start(["--port", "0", *args], env)
    procs.append(proc)
    auth = {"Authorization": "Bearer sk_test_rate_cli"}
    codes = [
        validated(requests.get(url + "/v1/customers", headers=auth, timeout=5)) for _ in range(5)
    ]
    assert [r.status_code for r in codes][:3] == [200, 200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    e = limited[0].json()["error"]
    assert (e["type"], e["code"], e.get("param")) == ("invalid_request_error", "rate_limit", None)
    assert e["message"] == (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    assert limited[0].headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    # another account has its own budget
    other = validated(
        requests.get(
            url + "/v1/customers", headers={"Authorization": "Bearer sk_test_rate_other"}, timeout=5
        )
    )
    assert other.status_code == 200


def test_port_in_use_is_a_clear_error(procs: list[subprocess.Popen[str]]) -> None:
    proc, url = start(["--port", "0"])
    procs.append(proc)
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr


def test_threaded_server_context_manager(schema_violations: list[str]) -> None:
    with ThreadedServer(Settings(port=0)) as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        c = make_client(srv.url, "sk_test_ctx", schema_violations)
        assert c.v1.customers.list().data == []
    with pytest.raises(stripe.APIConnectionError):
        c.v1.customers.list()
