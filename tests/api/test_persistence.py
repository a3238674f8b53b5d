"""Issue 14, optional persistence (`--data PATH`): periodic atomic saves that survive kill -9,
idempotency keys kept, format versions, off by default (persistence.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from stripe_mock_billing import persistence
from stripe_mock_billing.app import create_app
from stripe_mock_billing.config import Settings
from stripe_mock_billing.resources import customers as customers_module
from tests.api.test_server_cli import URL_LINE
from tests.conftest import make_client, validated

INTERVAL = 0.25
# generous: a save of a few hundred customers takes milliseconds, but CI machines stall
MARGIN = 2.5


def _start(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_MOCK_BILLING_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**full_env, **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = URL_LINE.search(line)
    if m is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"no URL line: {line!r} stderr={err!r}")
    return proc, m.group(1)


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return err


def _client(key: str, url: str, violations: list[str]) -> stripe.StripeClient:
    return make_client(url, key, violations)


def _parse(path: Path | bytes) -> dict[str, Any]:
    doc = json.loads(path if isinstance(path, bytes) else path.read_bytes())
    assert doc["format"] == persistence.FORMAT
    assert doc["format_version"] == persistence.FORMAT_VERSION
    return doc


def test_sigkill_during_a_write_load_loses_at_most_the_last_interval(
    tmp_path: Path, schema_violations: list[str]
) -> None:
    data = tmp_path / "state.json"
    key = "sk_test_kill_" + uuid.uuid4().hex
    proc, url = _start(["--data", str(data), "--data-interval", str(INTERVAL)])
    acked: list[tuple[str, float]] = []  # (customer id, monotonic time its response arrived)
    reads: list[int] = []
    torn: list[str] = []
    done = threading.Event()

    def write() -> None:
        c = _client(key, url, schema_violations)
        while not done.is_set():
            try:
                cus = c.v1.customers.create({"name": "load", "metadata": {"n": str(len(acked))}})
            except stripe.APIConnectionError:
                return  # killed
            acked.append((cus.id, time.monotonic()))
            time.sleep(0.002)  # a steady load, not a flood: the account stays a few MB

    def read() -> None:  # the file is never torn, whenever it is read
        while not done.is_set():
            try:
                raw = data.read_bytes()
            except FileNotFoundError:
                time.sleep(0.01)
                continue
            try:
                _parse(raw)
                reads.append(len(raw))
            except Exception as exc:
                torn.append(repr(exc)[:200])
            time.sleep(0.02)

    writers = [threading.Thread(target=write) for _ in range(2)]
    reader = threading.Thread(target=read)
    for t in [*writers, reader]:
        t.start()
    try:
        deadline = time.monotonic() + 60
        # a load long enough that objects acknowledged well before the kill exist
        while time.monotonic() < deadline and (
            len(acked) < 50 or acked[-1][1] - acked[0][1] < 2 * MARGIN + 1
        ):
            time.sleep(0.05)
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        done.set()
        for t in [*writers, reader]:
            t.join(timeout=30)
        _stop(proc)
    assert not torn, torn
    assert reads, "the file was never written during the load"
    doc = _parse(data)  # whole after the kill too
    assert key in doc["accounts"]
    must_exist = [cid for cid, at in acked if at < killed_at - INTERVAL - MARGIN]
    assert must_exist

    proc, url = _start(["--data", str(data), "--data-interval", str(INTERVAL)])
    try:
        kept = {
            c.id
            for c in _client(key, url, schema_violations)
            .v1.customers.list({"limit": 100})
            .auto_paging_iter()
        }
    finally:
        _stop(proc)
    assert not set(must_exist) - kept
    assert len(kept - {cid for cid, _ in acked}) <= len(writers)  # answers lost in the kill


def test_idempotency_keys_survive_a_kill(tmp_path: Path, schema_violations: list[str]) -> None:
    data = tmp_path / "state.json"
    key = "sk_test_idem_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}", "Idempotency-Key": "order-1"}
    proc, url = _start(["--data", str(data), "--data-interval", str(INTERVAL)])
    try:
        first = validated(
            requests.post(url + "/v1/customers", data={"name": "once"}, headers=auth, timeout=10)
        )
        assert first.status_code == 200
        cid = first.json()["id"]
        deadline = time.monotonic() + 30  # the periodic save picks it up
        while time.monotonic() < deadline and not (data.exists() and cid in data.read_text()):
            time.sleep(0.05)
        assert cid in data.read_text()
    finally:
        _stop(proc, signal.SIGKILL)
    proc, url = _start(["--data", str(data)])
    try:
        again = validated(
            requests.post(url + "/v1/customers", data={"name": "once"}, headers=auth, timeout=10)
        )
        listed = _client(key, url, schema_violations).v1.customers.list()
    finally:
        _stop(proc)
    assert again.json()["id"] == cid
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [c.id for c in listed.data] == [cid]


def test_interval_zero_saves_only_on_a_clean_stop(
    tmp_path: Path, schema_violations: list[str]
) -> None:
    data = tmp_path / "state.json"
    proc, url = _start(["--data", str(data), "--data-interval", "0"])
    try:
        _client("sk_test_" + uuid.uuid4().hex, url, schema_violations).v1.customers.create(
            {"name": "x"}
        )
        time.sleep(2 * INTERVAL)
        assert not data.exists()
    finally:
        err = _stop(proc)
    assert "saved 1 accounts" in err
    assert list(_parse(data)["accounts"])


def test_off_by_default_writes_nothing(tmp_path: Path, schema_violations: list[str]) -> None:
    proc, url = _start([], cwd=tmp_path)
    try:
        _client("sk_test_" + uuid.uuid4().hex, url, schema_violations).v1.customers.create(
            {"name": "x"}
        )
        time.sleep(2 * persistence.DEFAULT_INTERVAL)
    finally:
        err = _stop(proc)
    assert list(tmp_path.iterdir()) == []
    assert "saved" not in err


def test_a_newer_format_version_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "state.json"
    data.write_text(
        json.dumps({"format": persistence.FORMAT, "format_version": 99, "accounts": {}})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "stripe_mock_billing", "--port", "0", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "format version 99, which this stripe-mock-billing" in proc.stderr
    assert "move the file away to start empty" in proc.stderr
    assert json.loads(data.read_text())["format_version"] == 99  # left as it was


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    key = "sk_test_v1_" + uuid.uuid4().hex
    auth = {"Authorization": f"Bearer {key}"}
    old = create_app(Settings()).test_client()
    cid = validated(old.post("/v1/customers", data={"name": "old"}, headers=auth)).get_json()["id"]
    exported = old.get("/_mock/snapshot", headers=auth).get_json()  # format 1 held the export
    data = tmp_path / "state.json"
    v1 = {"format": persistence.FORMAT, "format_version": 1}
    data.write_text(json.dumps({**v1, "accounts": {key: exported}}))
    (tmp_path / ".state.json.abc.tmp").write_text('{"torn')  # left by a killed server

    fresh = create_app(Settings())
    # persistence.load and save take the app's Store: they are the unit under test
    store = fresh.extensions["stripe_mock_billing.store"]
    assert list(persistence.load(store, data)) == [key]
    assert not (tmp_path / ".state.json.abc.tmp").exists()
    listed = validated(fresh.test_client().get("/v1/customers", headers=auth)).get_json()
    assert [c["id"] for c in listed["data"]] == [cid]
    assert persistence.save(store, data) == 1
    assert _parse(data)["accounts"][key]["idempotency"] == []


def test_a_background_save_waits_for_busy_accounts_and_skips_unchanged_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(Settings())
    client = app.test_client()
    # persistence.Saver takes the app's Store: it is the unit under test
    store = app.extensions["stripe_mock_billing.store"]
    keys = ["sk_test_a_" + uuid.uuid4().hex, "sk_test_b_" + uuid.uuid4().hex]
    for k in keys:
        validated(
            client.post("/v1/customers", data={"name": k}, headers={"Authorization": f"Bearer {k}"})
        )
    path = tmp_path / "s.json"
    saver = persistence.Saver(store, path)
    assert saver.save(background=saver.fork) == 2
    assert saver.save(background=saver.fork) is None  # nothing changed: no write
    written = path.stat().st_mtime_ns
    held, release = threading.Event(), threading.Event()
    real = customers_module._apply

    def stalled(cust: Any, prm: Any) -> None:  # a request of keys[0] in the middle of its work
        held.set()
        release.wait(30)
        real(cust, prm)

    monkeypatch.setattr(customers_module, "_apply", stalled)
    auth0 = {"Authorization": f"Bearer {keys[0]}"}
    t = threading.Thread(
        target=lambda: app.test_client().post("/v1/customers", data={"name": "3"}, headers=auth0)
    )
    t.start()
    assert held.wait(10)
    monkeypatch.setattr(customers_module, "_apply", real)  # keys[1]'s create runs at once
    try:
        validated(
            client.post(
                "/v1/customers", data={"name": "2"}, headers={"Authorization": f"Bearer {keys[1]}"}
            )
        )
        if saver.fork:  # never half a request: no save until the account is free
            assert saver.save(background=True) is None
            assert path.stat().st_mtime_ns == written
    finally:
        release.set()
        t.join()
    assert saver.save(background=saver.fork) == 2
    doc = _parse(path)
    assert len(doc["accounts"][keys[1]]["snapshot"]["state"]["customers"]["$map"]) == 2
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_the_docker_image_declares_the_data_volume() -> None:
    text = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert 'VOLUME ["/data"]' in text
    assert "chown 10001 /data" in text  # writable by the image's user
    assert "ENV STRIPE_MOCK_BILLING_DATA" not in text  # off unless asked for
