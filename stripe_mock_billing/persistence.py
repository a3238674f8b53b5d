"""`--data PATH`: keep every account across restarts of the CLI server (optional persistence).

At start, the accounts in PATH are imported (each through the snapshot import, which accepts
only the snapshot format and checks everything: snapshot.py); on a clean stop (SIGINT /
SIGTERM, after the requests in flight are answered) every account is exported to PATH, written
to a temporary file first and then renamed over it, so a crash while writing leaves the
previous file whole.
LIMITATIONS: nothing is written between start and a clean stop (a killed server loses what
happened since it started); what a snapshot leaves out (idempotency keys, journal, faults, v2
session tokens, rate-limit windows) starts empty.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from . import snapshot
from .errors import StripeError
from .limits import loads_json
from .store import Store

FORMAT = "stripe-mock-billing/data"
FORMAT_VERSION = 1


class DataFileError(ValueError):
    """PATH holds something other than this server's data file."""


def load(store: Store, path: Path) -> int:
    """Import the accounts saved in `path` (none if it does not exist); how many."""
    if not path.exists():
        return 0
    try:
        doc = loads_json(path.read_bytes())
    except StripeError as err:
        raise DataFileError(f"{path}: {err.message}") from None
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise DataFileError(f"{path} is not a {FORMAT} file (format_version {FORMAT_VERSION})")
    accounts = doc.get("accounts")
    if not isinstance(accounts, dict):
        raise DataFileError(f"{path}: `accounts` must be an object")
    for key, snap in accounts.items():
        try:
            snapshot.import_state(store.namespace(key), snap)
        except StripeError as err:
            raise DataFileError(f"{path}: account {key[:12]}...: {err.message}") from None
    return len(accounts)


def save(store: Store, path: Path) -> int:
    """Export every account to `path` (atomically); how many were written."""
    accounts = {}
    for key in store.api_keys():
        space = store.peek(key)
        if space is None:
            continue
        with space.lock:
            try:
                accounts[key] = snapshot.export_state(space)
            except snapshot.SnapshotError as err:  # written without it, and said so
                print(f"stripe-mock-billing: not saved: {key[:12]}...: {err}", file=sys.stderr)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "accounts": accounts}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(accounts)
