"""The target under test: the emulator started by the suite, or any `--base` URL.

A target is treated as the emulator when `GET <base>/healthz` answers `{"status": "ok", ...}`
(real Stripe answers 404 there); emulator-only scenarios and checks run only then.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def is_emulator(base: str) -> bool:
    """True when the target answers the emulator's `/healthz`."""
    try:
        with urllib.request.urlopen(base.rstrip("/") + "/healthz", timeout=10) as resp:
            body = json.loads(resp.read().decode() or "{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """`python -m stripe_mock_billing --port <free>` in a child process, ready when /healthz is."""

    def __init__(self, python: str | None = None, startup_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [python or sys.executable, "-m", "stripe_mock_billing", "--port", str(self.port)]
        self.log = REPO / "conformance" / ".envs" / "server.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + startup_timeout
        while not is_emulator(self.url):
            if self.proc.poll() is not None:
                raise SystemExit(f"the emulator exited at start-up; see {self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the emulator did not answer /healthz in {startup_timeout}s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then kill)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
