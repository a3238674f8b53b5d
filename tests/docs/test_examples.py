"""Every code block of README.md and docs/ runs, each against a fresh emulator.

- Python blocks (found by `pytest_examples.find_examples`) run in a fresh `mock_stripe()`, so a
  snippet using Stripe's default URLs is served in-process; a snippet that names the server's
  URL (`127.0.0.1:12111`) gets a fresh threaded server on a free port put in its place. A block
  that defines pytest tests (`def test_...`) is written to a file and run by pytest in a
  subprocess with the installed plugin, and must pass.
- Shell blocks that start the server (`stripe-mock-billing ...`, `python -m stripe_mock_billing`)
  are started on a free port and must answer `/healthz`.
- A block that is not meant to run says so on the line above its fence, in a comment that
  neither GitHub nor MkDocs shows: `<!-- not run: why -->`; those are counted and reported,
  never silently passed over. Any other
  block of another language (yaml, toml, text) is not code and is not run.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_examples import CodeExample, find_examples

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "README.md", ROOT / "docs"]
SERVER_URL = "127.0.0.1:12111"
_KEY = re.compile(r"\bsk_test_\w+")
_FENCE = re.compile(r"^( *)```( *)(\w+)([^\n]*)\n(.*?)^\1```", re.M | re.S)
_SERVER_CMD = re.compile(
    r"(?:^|&&|\s)("
    r"(?:\.venv/bin/)?stripe-mock-billing\b[^\n&|]*"
    r"|python3? -m stripe_mock_billing\b[^\n&|]*"
    r")"
)


@dataclass(frozen=True)
class ShellBlock:
    path: Path
    line: int
    prefix: str
    source: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _markdown_files() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    return files


def python_blocks() -> list[CodeExample]:
    out: list[CodeExample] = []
    for path in _markdown_files():
        out.extend(find_examples(path))
    return out


def shell_blocks() -> list[ShellBlock]:
    out = []
    for path in _markdown_files():
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            lang = m.group(3).lower()
            if lang in ("bash", "sh", "shell", "console"):
                line = text[: m.start()].count("\n") + 1
                out.append(ShellBlock(path, line, m.group(3) + m.group(4), m.group(5)))
    return out


_NOT_RUN = re.compile(r"^\s*<!--\s*not run:.*-->\s*$")


def skipped(path: Path, fence_line: int) -> bool:
    """A block whose fence (1-based line) follows a `<!-- not run: ... -->` line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return fence_line >= 2 and _NOT_RUN.match(lines[fence_line - 2]) is not None


PY = python_blocks()
SH = shell_blocks()
PY_RUN = [b for b in PY if not skipped(b.path, b.start_line)]
SH_SKIPPED = [b for b in SH if skipped(b.path, b.line)]
SH_SERVER = [b for b in SH if b not in SH_SKIPPED and _SERVER_CMD.search(b.source)]
SH_OTHER = [b for b in SH if b not in SH_SKIPPED and not _SERVER_CMD.search(b.source)]


def counts() -> dict[str, int]:
    """What the docs hold and what this module runs (printed at the end of the session)."""
    return {
        "python": len(PY_RUN),
        "shell": len(SH_SERVER),
        "skipped": len(PY) - len(PY_RUN) + len(SH_SKIPPED),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_pytest_block(example: CodeExample, tmp_path: Path) -> None:
    test_file = tmp_path / f"test_{example.module_name}.py"
    test_file.write_text(example.source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("STRIPE_MOCK_BILLING_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{example}: its tests failed\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("example", PY_RUN, ids=str)
def test_python_block_runs(example: CodeExample, tmp_path: Path) -> None:
    source = example.source
    if re.search(r"^(async )?def test_", source, re.M):
        _run_pytest_block(example, tmp_path)
        return
    from stripe_mock_billing.config import Settings
    from stripe_mock_billing.inprocess import mock_stripe
    from stripe_mock_billing.server import ThreadedServer

    server = None
    if SERVER_URL in source:
        server = ThreadedServer(Settings(port=0)).start()
        source = source.replace(SERVER_URL, server.url.removeprefix("http://"))
    try:
        code = compile(source, str(example), "exec")
        with mock_stripe() as m:
            exec(code, {"__name__": "__docs_example__"})
            _assert_responses_match_the_schema(source, m, server)
    finally:
        if server is not None:
            server.stop()


def _assert_responses_match_the_schema(source: str, m: Any, server: Any) -> None:
    """Every response the block's accounts (the `sk_test_...` keys it names) received, in
    process or from the server, checked against Stripe's OpenAPI from their journals."""
    from stripe_mock_billing.handle import StripeMock
    from tests.conftest import journal_problems

    problems: list[str] = []
    for key in sorted(set(_KEY.findall(source))):
        problems += journal_problems(m.handle(key))
        if server is not None:
            problems += journal_problems(StripeMock.connect(server.url, key))
    assert not problems, "responses violate the OpenAPI schema:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("block", SH_SERVER, ids=str)
def test_shell_block_starts_the_server(block: ShellBlock) -> None:
    for m in _SERVER_CMD.finditer(block.source):
        argv = shlex.split(m.group(1).strip())
        if argv[0].endswith("stripe-mock-billing"):
            argv = [sys.executable, "-m", "stripe_mock_billing", *argv[1:]]
        else:
            argv = [sys.executable, *argv[1:]]
        port = _free_port()
        proc = subprocess.Popen(
            [*argv, "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        assert r.status == 200
                        break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_other_shell_blocks_are_marked() -> None:
    # a shell block that neither starts the server nor is marked "not run" would be unchecked
    assert not SH_OTHER, "mark these `<!-- not run: why -->`: " + ", ".join(map(str, SH_OTHER))


def test_there_are_blocks_to_run() -> None:
    assert len(PY_RUN) >= 5 and SH_SERVER
