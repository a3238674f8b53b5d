"""Guard (issue 15): API, plugin and example-app tests go through the public surface (the SDK,
raw HTTP and the `/_mock` control API), never into the emulator's store. Any store access in
their sources fails here unless the allow-list below names the file, the count and why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tests/api", "tests/plugin", "examples/usage_app")

# what reaching into the store looks like in a test's source
STORE_ACCESS = re.compile(
    r"""extensions\[\s*["']stripe_mock_billing\.store["']\s*\]"""  # the app's Store
    r"|\.namespace\("  # an account's Namespace
    r"|\.peek\("  # Store.peek
    r"|\.store\b(?!\()"  # mock_stripe().store, handle.store, ...
    r"|\bstripe_mock_billing\.store\b"  # importing the store module
    r"|\b(?:Store|Namespace)\("  # building one
)

# file -> (how many accesses, why they are the only way to check the thing under test)
ALLOWED: dict[str, tuple[int, str]] = {
    "tests/api/test_persistence.py": (
        2,
        "persistence.load, save and Saver take the app's Store: they are the unit under test "
        "(the accounts' contents are set up and read back through the API)",
    ),
    "tests/api/test_mutants_wire_pipeline_b.py": (
        1,
        "persistence.Saver takes the app's Store: which requests count as a change for --data "
        "is the unit under test (the account is changed and read through the API)",
    ),
}


def store_accesses(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every store access in a source text (comments ignored)."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if STORE_ACCESS.search(code):
            found.append((n, line.strip()))
    return found


def scanned_files() -> list[Path]:
    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py"))]
    assert files, f"nothing to scan under {SCANNED}"
    return files


def test_api_plugin_and_example_tests_do_not_reach_into_the_store() -> None:
    unexpected = []
    for path in scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        hits = store_accesses(path.read_text(encoding="utf-8"))
        allowed = ALLOWED.get(rel, (0, ""))[0]
        if len(hits) != allowed:
            unexpected.extend(f"{rel}:{n}: {line}" for n, line in hits)
            if allowed:
                unexpected.append(f"{rel}: {len(hits)} store accesses, allow-listed {allowed}")
    assert not unexpected, (
        "tests reach into the emulator's store (use the SDK, raw HTTP or /_mock; or allow-list "
        "the file with the reason it must):\n" + "\n".join(unexpected)
    )


def test_the_allow_list_names_existing_files_with_reasons() -> None:
    for rel, (count, why) in ALLOWED.items():
        assert (ROOT / rel).is_file(), rel
        assert count > 0 and len(why) > 20, rel


@pytest.mark.parametrize(
    "line",
    [
        'ns = server.app.extensions["stripe_mock_billing.store"].namespace(key)',
        "store = app.extensions['stripe_mock_billing.store']",
        "assert list(m.store.namespace('sk_test_x').customers) == [cid]",
        "space = store.peek(key)",
        "from stripe_mock_billing.store import Namespace",
        "ns = Store(Settings())",
    ],
)
def test_the_scanner_sees_store_access(line: str) -> None:
    assert store_accesses(line) == [(1, line)]


@pytest.mark.parametrize(
    "line",
    [
        "client.v1.customers.list()",
        'errors = server.app.extensions["stripe_mock_billing.errors"]',
        "mock.export_state()  # not the .store. of anything",
        "stripe_mock.update_settings(rate_limit=3)",
    ],
)
def test_the_scanner_leaves_public_calls_alone(line: str) -> None:
    assert store_accesses(line) == []
