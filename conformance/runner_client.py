"""The driver's side of a runner process: start it, send one JSON request, read one JSON answer."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
from typing import Any

from .sdks import Sdk


class RunnerDied(RuntimeError):
    """The runner process exited or stopped answering."""


class RunnerProcess:
    """A long-lived runner for one SDK (`py_runner.py` or `node_runner.js`)."""

    def __init__(self, sdk: Sdk, timeout: float = 180.0) -> None:
        self.sdk = sdk
        self.timeout = timeout
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the SDK venv must see only its own stripe
        self._proc = subprocess.Popen(
            sdk.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        stream = self._proc.stdout
        if stream is None:
            return
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)

    def _read_err(self) -> None:
        stream = self._proc.stderr
        if stream is None:
            return
        for line in stream:
            self._stderr.append(line)
            del self._stderr[:-50]

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """Send one request; wait for its answer."""
        if self._proc.stdin is None or self._proc.poll() is not None:
            raise RunnerDied(self._died())
        try:
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
        except OSError as exc:
            raise RunnerDied(f"{exc}; {self._died()}") from exc
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty as exc:
            raise RunnerDied(f"no answer within {self.timeout:.0f}s") from exc
        if line is None:
            raise RunnerDied(self._died())
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> str:
        tail = "".join(self._stderr[-15:]).strip()
        return f"runner for {self.sdk.name} exited ({self._proc.poll()}): {tail}"

    def close(self) -> None:
        """Stop the runner."""
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
