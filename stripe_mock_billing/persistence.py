"""`--data PATH`: keep every account across restarts of the CLI server (optional persistence).

At start, the accounts in PATH are imported (each through the snapshot import, which accepts
only the snapshot format and checks everything: snapshot/decode.py, snapshot/checks.py), with
their idempotency keys.
While the server runs, a background thread (`Saver`) writes PATH again at most every
`--data-interval` seconds (default 1) when an account changed since the last write, and once
more on a clean stop (SIGINT / SIGTERM, after the requests in flight are answered).

- Changed: the request pipeline bumps `Namespace.writes` under the account's lock for every
  request that may write (anything but GET; the control API's settings and snapshot import
  too); the saver also compares the account's event count, which catches the wall-clock
  engine rolling a subscription during a GET. Nothing changed: nothing is written.
- Consistent and cheap: the saver takes every account's lock (so no request is half applied;
  if one stays busy for `LOCK_WAIT`, e.g. through a long test clock advance, it releases them
  and tries again at the next interval), forks, and releases the locks at once. The child
  process exports its copy-on-write image of the accounts and writes the file while the server
  goes on serving, at a lower priority (`CHILD_NICENESS`), so a save costs the server's requests
  the fork and spare CPU only (bench/bench_data.py).
  Without `os.fork` (Windows) the thread exports one account at a time under its lock, spaced
  so that it uses at most `MAX_SAVER_SHARE` of the CPU.
- Atomic: the file is written to a temporary file in the same directory, flushed to disk
  (fsync), then renamed over PATH (`os.replace`); a kill -9 at any point leaves either the old
  or the new file, whole. Stale temporary files of a killed server are removed at start, and a
  saving child whose server died does not rename its file.
- Versioned: format version 1 (the first release, accounts only) is migrated on load; any other
  version is refused with a message naming it (the server exits with status 2).

The file holds the API keys and is created readable by its owner only (0600).
LIMITATIONS: one server per file; what a snapshot leaves out (journal, faults, v2 session
tokens, rate-limit windows, webhook delivery workers) starts empty; a kill -9 loses what was
written in the last interval, plus the time the last save took.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, snapshot
from .errors import StripeError
from .limits import loads_json
from .store import IdempotencyEntry, Namespace, Store

FORMAT = "stripe-mock-billing/data"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: {"accounts": {key: snapshot}} without idempotency keys
DEFAULT_INTERVAL = 1.0
# the saver's CPU time, as a share of the wall clock, is kept under this
MAX_SAVER_SHARE = 0.03
# the saving child's priority below the server's (a busy CPU serves requests first)
CHILD_NICENESS = 5
# how long a save waits for a busy account's lock before trying again at the next interval
LOCK_WAIT = 0.25
_IDEM_FIELDS = 7  # [key, fingerprint, created, request_id, status, body, headers]


class DataFileError(ValueError):
    """PATH holds something other than this server's data file."""


# --- load --------------------------------------------------------------------------------------


def _remove_stale_temps(path: Path) -> None:
    """Temporary files left by a server killed while writing (never renamed over PATH)."""
    name = glob.escape(path.name)
    for pattern in (f".{name}.*.tmp", f"{name}*.tmp"):
        for tmp in path.parent.glob(pattern):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _accounts_of(path: Path, doc: Any) -> dict[str, Any]:
    """The `accounts` of a data file of any readable version, as version-2 account entries."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataFileError(f"{path} is not a {FORMAT} file")
    version = doc.get("format_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise DataFileError(
            f"{path} is a {FORMAT} file of format version {version!r}, which this "
            f"stripe-mock-billing ({__version__}) cannot read (it reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}): run the version that wrote it, or move "
            "the file away to start empty"
        )
    accounts = doc.get("accounts")
    if not isinstance(accounts, dict):
        raise DataFileError(f"{path}: `accounts` must be an object")
    if version == 1:  # migrate: the snapshot alone, no idempotency keys
        return {key: {"snapshot": snap, "idempotency": []} for key, snap in accounts.items()}
    return accounts


def _idempotency_entries(raw: Any) -> list[tuple[str, IdempotencyEntry]]:
    """Checked idempotency entries of one account (ValueError when malformed)."""
    if not isinstance(raw, list):
        raise ValueError("`idempotency` must be a list")
    out = []
    for row in raw:
        if not isinstance(row, list) or len(row) != _IDEM_FIELDS:
            raise ValueError(f"an idempotency entry must be a list of {_IDEM_FIELDS} values")
        key, fp, created, request_id, status, body, headers = row
        ok = (
            isinstance(key, str)
            and 0 < len(key) <= 255
            and isinstance(fp, str)
            and isinstance(created, int | float)
            and not isinstance(created, bool)
            and isinstance(request_id, str)
            and type(status) is int
            and 100 <= status <= 599
            and isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        )
        if not ok:
            raise ValueError("an idempotency entry has a value of the wrong type")
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, dict) and isinstance(body.get("base64"), str):
            data = base64.b64decode(body["base64"], validate=True)
        else:
            raise ValueError("an idempotency entry's body must be text or {base64: ...}")
        entry = IdempotencyEntry(fingerprint=fp, created=float(created), request_id=request_id)
        entry.done, entry.status, entry.body, entry.headers = True, status, data, dict(headers)
        out.append((key, entry))
    return out


def load(store: Store, path: Path) -> dict[str, Any]:
    """Import the accounts saved in `path` (none if it does not exist): their entries, by key."""
    _remove_stale_temps(path)
    if not path.exists():
        return {}
    try:
        doc = loads_json(path.read_bytes())
    except StripeError as err:
        raise DataFileError(f"{path}: {err.message}") from None
    accounts = _accounts_of(path, doc)
    for key, entry in accounts.items():
        where = f"{path}: account {key[:12]}..."
        if not isinstance(entry, dict) or not key.startswith("sk_"):
            raise DataFileError(f"{where}: not an account entry")
        try:
            keys = _idempotency_entries(entry.get("idempotency", []))
        except ValueError as err:
            raise DataFileError(f"{where}: {err}") from None
        space = store.namespace(key)
        try:
            snapshot.import_state(space, entry.get("snapshot"))
        except StripeError as err:
            raise DataFileError(f"{where}: {err.message}") from None
        with space.lock, space.idem_lock:
            space.idempotency.update(keys[-store.settings.idempotency_max_keys :])
    return accounts


# --- save --------------------------------------------------------------------------------------


def _marker(space: Namespace) -> tuple[int, int]:
    """Changes when the account may have changed (read without its lock: a hint only)."""
    return space.writes, len(space.events)


def _account_entry(space: Namespace, *, locked: bool = True) -> dict[str, Any]:
    """The account's state and finished idempotency keys (call with its lock held)."""
    snap = snapshot.export_state(space)
    rows = []
    with space.idem_lock if locked else contextlib.nullcontext():
        for key, e in list(space.idempotency.items()):
            if not e.done:
                continue
            try:
                body: Any = e.body.decode("utf-8")
            except UnicodeDecodeError:
                body = {"base64": base64.b64encode(e.body).decode("ascii")}
            rows.append(
                [key, e.fingerprint, e.created, e.request_id, e.status, body, dict(e.headers)]
            )
    return {"snapshot": snap, "idempotency": rows}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _document(entries: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    """The data file's bytes, one account at a time."""
    head = _dumps(
        {"format": FORMAT, "format_version": FORMAT_VERSION, "emulator_version": __version__}
    )
    yield head[:-1] + b',"accounts":{'
    for i, (key, entry) in enumerate(entries):
        yield (b"," if i else b"") + _dumps(key) + b":" + _dumps(entry)
    yield b"}}"


def write_atomic(path: Path, chunks: Iterable[bytes], *, parent: int | None = None) -> None:
    """Write `chunks` to `path` through a temporary file in its directory, fsync and rename
    (not renamed when `parent`, a process id, is no longer this process's parent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # named by hand, not `tempfile`: a forked child must take no lock of its parent's threads
    tmp = path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        if parent is not None and os.getppid() != parent:
            raise OSError("the server stopped during the save")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # the rename itself reaches the disk
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Saver:
    """Writes a store's accounts to `path`: periodically from a thread, and on demand.

    A periodic save takes every account's lock (so no request is half applied), forks, and
    releases the locks: the child process exports the copy-on-write image of the accounts and
    writes the file while the server goes on serving, so the export costs the server's requests
    only the fork. Without `os.fork` (Windows), the thread exports one account at a time under
    its lock, spaced so that it takes at most `MAX_SAVER_SHARE` of the time.
    """

    def __init__(self, store: Store, path: Path, interval: float = DEFAULT_INTERVAL) -> None:
        self.store, self.path, self.interval = store, path, interval
        self._saved: dict[str, tuple[Namespace, tuple[int, int]]] = {}  # as of the last save
        self._save_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.saves = 0  # files written
        self.last_cpu = 0.0  # CPU seconds this process spent in the last save
        self._last_error: str | None = None
        self.fork = hasattr(os, "fork")

    def prime(self, accounts: dict[str, Any]) -> None:
        """The accounts just loaded are what the file holds: not written again until changed."""
        for key in accounts:
            space = self.store.peek(key)
            if space is not None:
                self._saved[key] = (space, _marker(space))

    def start(self) -> None:
        """Save periodically (nothing to do when the interval is 0: only `save` on stop)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="data-saver", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the periodic saves (a save in progress completes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        delay = self.interval
        while not self._stop.wait(delay):
            try:
                self.save(background=self.fork)
                self._last_error = None
            except Exception as exc:  # a full disk, a removed directory: said once, retried
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    print(
                        f"stripe-mock-billing: cannot save {self.path}: {message}", file=sys.stderr
                    )
                self._last_error = message
            delay = max(self.interval, self.last_cpu / MAX_SAVER_SHARE)

    def _changed(self) -> bool:
        """Whether an account was made, dropped or written since the last save (no locks)."""
        keys = self.store.api_keys()
        if len(keys) != len(self._saved):
            return True
        for key in keys:
            space = self.store.peek(key)
            saved = self._saved.get(key)
            if space is None or saved is None or saved[0] is not space:
                return True
            if saved[1] != _marker(space):
                return True
        return False

    def save(self, *, force: bool = False, background: bool = False) -> int | None:
        """Write the file if an account changed (always with `force`): how many accounts it
        holds, or None when nothing changed (or, in the background, an account stayed busy)."""
        with self._save_lock:
            cpu = time.thread_time()
            try:
                if not force and not self._changed():
                    return None
                return self._save_forked() if background else self._save_here()
            finally:
                self.last_cpu = time.thread_time() - cpu

    def _spaces(self) -> list[tuple[str, Namespace]]:
        out = []
        for key in self.store.api_keys():
            space = self.store.peek(key)
            if space is not None:
                out.append((key, space))
        return out

    def _save_here(self) -> int:
        """Export in this thread, one account at a time under its lock."""
        entries, saved = [], {}
        for key, space in self._spaces():
            with space.lock:
                marker = _marker(space)
                try:
                    entries.append((key, _account_entry(space)))
                except snapshot.SnapshotError as err:  # written without it, and said so
                    print(f"stripe-mock-billing: not saved: {key[:12]}...: {err}", file=sys.stderr)
                    continue
            saved[key] = (space, marker)
        write_atomic(self.path, _document(entries))
        self._saved = saved
        self.saves += 1
        return len(entries)

    def _save_forked(self) -> int | None:
        """Fork with every account's lock held; the child exports and writes the file."""
        spaces = self._spaces()
        held: list[Namespace] = []
        try:
            for _, space in spaces:
                if not space.lock.acquire(timeout=LOCK_WAIT):
                    return None  # a long request (a clock advance): tried again next time
                held.append(space)
            saved = {key: (space, _marker(space)) for key, space in spaces}
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:  # the child: no other thread exists here; never returns
                _child(spaces, self.path, parent)
        finally:
            for space in held:
                space.lock.release()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:  # the child cannot say why: this thread can
            return self._save_here()
        self._saved = saved
        self.saves += 1
        return len(spaces)


def _child(spaces: list[tuple[str, Namespace]], path: Path, parent: int) -> NoReturn:
    """In the forked child: write the file and exit, touching nothing the parent's threads own
    (no printing, no `tempfile`, no idempotency lock: they may have been held at the fork)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # no inherited socket or pipe stays open because of this process: a connection the
        # server closes is closed for its client, the server's port is free when it stops
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
        os.nice(CHILD_NICENESS)  # a busy machine serves requests first, saves after
        entries = []
        for key, space in spaces:
            try:
                entries.append((key, _account_entry(space, locked=False)))
            except snapshot.SnapshotError:
                continue  # the in-thread save on stop names it
        write_atomic(path, _document(entries), parent=parent)
        code = 0
    finally:
        os._exit(code)


def save(store: Store, path: Path) -> int:
    """Export every account to `path` (atomically); how many were written."""
    return Saver(store, path, interval=0).save(force=True) or 0
