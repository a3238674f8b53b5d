"""The four official SDK versions the suite runs, and `setup`: one environment per SDK.

Each SDK gets its own environment under ``conformance/.envs/<name>/`` (gitignored), rebuilt from
the registries only (PyPI, npm): a ``python -m venv`` with ``pip install stripe==X``, or a
directory with ``npm install stripe@X``. Nothing else is cached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENVS = HERE / ".envs"
RUNNERS = HERE / "runners"
ACACIA = "2025-02-24.acacia"


@dataclass(frozen=True)
class Sdk:
    """One SDK under test."""

    name: str  # e.g. "python-11.6.1"
    kind: str  # "python" | "node"
    requirement: str  # pip requirement or npm spec
    flavor: str  # key of the ops table: py11 | py16 | node17 | node23
    version_prefix: str  # the installed version must start with this
    legacy: bool  # pins an acacia (pre-basil) API version

    @property
    def env(self) -> Path:
        """The environment directory."""
        return ENVS / self.name

    def command(self) -> list[str]:
        """The runner process command line."""
        if self.kind == "python":
            return [str(self.env / "bin" / "python"), str(RUNNERS / "py_runner.py")]
        return [_node(), str(RUNNERS / "node_runner.js"), str(self.env)]

    def installed_version(self) -> str | None:
        """The SDK version installed in the environment, or None when it is missing."""
        if self.kind == "python":
            py = self.env / "bin" / "python"
            if not py.exists():
                return None
            out = subprocess.run(
                [str(py), "-c", "import stripe; print(stripe.VERSION)"],
                capture_output=True,
                text=True,
                check=False,
            )
            return out.stdout.strip() or None if out.returncode == 0 else None
        pkg = self.env / "node_modules" / "stripe" / "package.json"
        if not pkg.is_file():
            return None
        return str(json.loads(pkg.read_text(encoding="utf-8")).get("version") or "") or None


SDKS: dict[str, Sdk] = {
    s.name: s
    for s in (
        Sdk("python-11.6.1", "python", "stripe==11.6.1", "py11", "11.6.1", True),
        Sdk("python-16.1.0", "python", "stripe==16.1.0", "py16", "16.1.0", False),
        Sdk("node-17.7.0", "node", "17.7.0", "node17", "17.7.0", True),
        # the latest 23.x on npm (23.1.0 when this was written)
        Sdk("node-23", "node", "^23.0.0", "node23", "23.", False),
    )
}


def _node() -> str:
    return shutil.which("node") or "node"


def parse_sdks(spec: str | None) -> list[Sdk]:
    """`python-11.6.1,node-23` -> Sdk list (all four when empty)."""
    if not spec:
        return list(SDKS.values())
    out = []
    for name in (s.strip() for s in spec.split(",")):
        if not name:
            continue
        if name not in SDKS:
            raise SystemExit(f"unknown SDK {name!r}; known: {', '.join(SDKS)}")
        out.append(SDKS[name])
    return out


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    print("  $ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def setup_one(sdk: Sdk, *, force: bool = False) -> str:
    """Create (or reuse) the SDK's environment; returns the installed version."""
    have = sdk.installed_version()
    if have and have.startswith(sdk.version_prefix) and not force:
        print(f"{sdk.name}: already set up (stripe {have}) in {sdk.env}", flush=True)
        return have
    print(f"{sdk.name}: creating {sdk.env}", flush=True)
    shutil.rmtree(sdk.env, ignore_errors=True)
    sdk.env.mkdir(parents=True)
    if sdk.kind == "python":
        _run([sys.executable, "-m", "venv", str(sdk.env)])
        pip = str(sdk.env / "bin" / "pip")
        _run([pip, "install", "-q", "--disable-pip-version-check", sdk.requirement])
    else:
        manifest: dict[str, object] = {"name": f"conformance-{sdk.name}", "private": True}
        manifest["dependencies"] = {"stripe": sdk.requirement}
        (sdk.env / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        npm = shutil.which("npm") or "npm"
        _run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
            cwd=sdk.env,
        )
    have = sdk.installed_version()
    if not have or not have.startswith(sdk.version_prefix):
        raise SystemExit(f"{sdk.name}: expected stripe {sdk.version_prefix}*, found {have!r}")
    print(f"{sdk.name}: stripe {have} ready", flush=True)
    return have


def setup(sdks: list[Sdk], *, force: bool = False) -> int:
    """Set up every requested SDK environment; returns a process exit code."""
    ENVS.mkdir(parents=True, exist_ok=True)
    failed = []
    for sdk in sdks:
        try:
            setup_one(sdk, force=force)
        except (subprocess.CalledProcessError, SystemExit, OSError) as exc:
            print(f"{sdk.name}: setup FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(sdk.name)
    if failed:
        print(f"setup failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
