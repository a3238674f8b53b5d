"""Request journal of the control API: every /v1 and /v2 request of an account and its answer.

Emulator-only (`GET /_mock/journal`): a test can assert what the app under test sent, e.g.
"exactly 3 usage records with these quantities and idempotency keys". Each entry records the
method, path, decoded parameters (the form tree for v1, the JSON body or query for v2), the
`Idempotency-Key`, the status, the response body, `Request-Id`, the API version, whether the
answer was an idempotent replay, the injected fault if any, and the time.

Memory is bounded per account: at most `MAX_ENTRIES` entries and `MAX_BYTES` of stored bodies
(oldest dropped first); a response body over `MAX_BODY` bytes is kept as `null` with
`response_truncated: true`. Requests that fail before the account is known (401/403, unknown
URL without a key) have no account and are not journaled.

LIMITATIONS: control requests (`/_mock/*`, `/healthz`) are not journaled.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import Any, cast

from flask import Request, Response, current_app, g, request

from .. import clock
from ..store import Namespace, Store
from .form import decode

MAX_ENTRIES = 1000
MAX_BYTES = 8 * 1024 * 1024
MAX_BODY = 256 * 1024
_BYTES_KEY = "_mock_journal_bytes"
_SEQ_KEY = "_mock_journal_seq"
_LOCK = threading.Lock()


@dataclass(slots=True, kw_only=True)
class JournalEntry:
    """One request of an account and the emulator's answer."""

    seq: int
    time: float
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    status: int
    response: Any
    request_id: str
    api_version: str | None
    replayed: bool = False
    fault: str | None = None
    response_truncated: bool = False
    size: int = 0
    # the raw response body, decoded into `response` only when the journal is read
    body: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """Wire shape of an entry (`object: "_mock.journal_entry"`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        del out["size"], out["body"]
        if self.body and self.response is None:
            try:
                out["response"] = json.loads(self.body)
            except ValueError:
                out["response"] = self.body.decode("utf-8", "replace")
        return {"object": "_mock.journal_entry", **out}


def has_glob(pattern: str) -> bool:
    """Whether a path pattern uses glob characters (`*`, `?`, `[`)."""
    return any(c in pattern for c in "*?[")


def path_matches(pattern: str, path: str) -> bool:
    """Exact match, or a glob (`/v1/subscription_items/*/usage_records`; `*` spans `/`)."""
    return fnmatchcase(path, pattern) if has_glob(pattern) else path == pattern


def token_namespace(st: Store) -> Namespace | None:
    """The account behind a v2 meter event session token in the Authorization header."""
    header = request.environ.get("HTTP_AUTHORIZATION") or ""
    scheme, _, token = header.strip().partition(" ")
    entry = st.session_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    return st.namespace(entry[0]) if entry else None


def _g() -> dict[str, Any]:
    # the request globals as a plain dict: each `g.get` through Flask's proxy costs ~1 us
    return cast(dict[str, Any], g._get_current_object().__dict__)


def request_namespace() -> Namespace | None:
    """The account of the current API request (API key or meter event session token)."""
    gd = _g()
    space = gd.get("ns")
    if space is None and gd.get("v2"):
        space = token_namespace(current_app.extensions["stripe_mock_billing.store"])
    return space if isinstance(space, Namespace) else None


def _request_params(gd: dict[str, Any], req: Request) -> dict[str, Any]:
    if gd.get("v2"):
        body = gd.get("json")
        if isinstance(body, dict) and body:
            return body
        try:
            return dict(decode(req.query_string))
        except Exception:  # malformed query: the request failed anyway
            return {}
    raw = gd.get("raw")
    return dict(raw) if isinstance(raw, dict) else {}


def record(resp: Response) -> None:
    """Append the current request and `resp` to its account's journal (after_request hook)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    path = req.path
    if not path.startswith(("/v1/", "/v2/")):
        return
    gd = _g()
    space = gd.get("ns")
    if space is None:
        space = request_namespace()
        if space is None:
            return
    body_bytes = resp.get_data() if not resp.is_streamed else b""
    truncated = len(body_bytes) > MAX_BODY
    # the request body's length without reading the stream (a GET has none to read)
    size = (0 if truncated else len(body_bytes)) + (req.content_length or 0) + 200
    entry = JournalEntry(
        seq=0,
        time=clock.real_time_float(),
        method=req.method,
        path=path,
        params=_request_params(gd, req),
        idempotency_key=req.environ.get("HTTP_IDEMPOTENCY_KEY"),  # no KeyError on absence
        status=resp.status_code,
        response=None,
        body=b"" if truncated else body_bytes,
        request_id=gd.get("request_id", ""),
        api_version=gd.get("version"),
        replayed=bool(gd.get("replayed")),  # set by the pipeline on an idempotent replay
        fault=gd.get("fault"),
        response_truncated=truncated,
        size=size,
    )
    journal: list[JournalEntry] = space.journal
    ext = space.extensions
    with _LOCK:
        entry.seq = ext.get(_SEQ_KEY, 0) + 1
        ext[_SEQ_KEY] = entry.seq
        total = ext.get(_BYTES_KEY, 0) + size
        journal.append(entry)
        drop = 0
        while len(journal) - drop > MAX_ENTRIES or (total > MAX_BYTES and len(journal) - drop > 1):
            total -= journal[drop].size
            drop += 1
        if drop:
            del journal[:drop]
        ext[_BYTES_KEY] = total


def entries(
    space: Namespace,
    *,
    method: str | None = None,
    path: str | None = None,
    since: int = 0,
) -> list[JournalEntry]:
    """The account's entries, oldest first, filtered by method and path (exact or glob)."""
    with _LOCK:
        found = list(space.journal)
    meth = method.upper() if method and method != "*" else None
    return [
        e
        for e in found
        if e.seq > since
        and (meth is None or e.method == meth)
        and (path is None or path_matches(path, e.path))
    ]


def clear(space: Namespace) -> None:
    """Forget the account's journal (sequence numbers keep increasing)."""
    with _LOCK:
        space.journal.clear()
        space.extensions[_BYTES_KEY] = 0
