"""Request journal of the control API: every /v1 and /v2 request of an account and its answer.

Emulator-only (`GET /_mock/journal`): a test can assert what the app under test sent, e.g.
"exactly 3 usage records with these quantities and idempotency keys". Each entry records the
method, path, decoded parameters (the form tree for v1, the JSON body or query for v2), the
`Idempotency-Key`, the status, the response body, `Request-Id`, the API version, whether the
answer was an idempotent replay, the injected fault if any, and the time.

Memory is bounded per account: at most `MAX_ENTRIES` entries and `MAX_BYTES` of what is held
(oldest dropped first). What is held is what is counted: the raw query string, request body and
response body, as bytes; parameters and responses are decoded only when the journal is read (a
parsed form tree takes several times its body's size). A request or response body over
`MAX_BODY` bytes is kept as `null` with `params_truncated` / `response_truncated: true`.
Requests that fail before the account is known (401/403, a URL the API does not have) have no
account and are not journaled. A meter event stream request belongs to its session token's
account, the token read as the stream reads it (Bearer, or Basic with the token as user).

LIMITATIONS: control requests (`/_mock/*`, `/healthz`) are not journaled.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import Any, cast

from flask import Response

from .. import clock
from ..errors import StripeError
from ..limits import loads_json
from ..store import Namespace, Store
from .auth import key_from_header
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
    params: dict[str, Any] | None
    idempotency_key: str | None
    status: int
    response: Any
    request_id: str
    api_version: str | None
    replayed: bool = False
    fault: str | None = None
    response_truncated: bool = False
    params_truncated: bool = False
    size: int = 0
    # the raw response body, decoded into `response` only when the journal is read
    body: bytes = b""
    # the raw request (query string, body; v2: JSON), decoded into `params` when read
    raw_query: bytes = b""
    raw_body: bytes = b""
    v2: bool = False

    def to_json(self) -> dict[str, Any]:
        """Wire shape of an entry (`object: "_mock.journal_entry"`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for internal in ("size", "body", "raw_query", "raw_body", "v2"):
            del out[internal]
        if self.params is None:
            out["params"] = None if self.params_truncated else self._decode_params()
        if self.body and self.response is None:
            try:
                out["response"] = json.loads(self.body)
            except ValueError:
                out["response"] = self.body.decode("utf-8", "replace")
        return {"object": "_mock.journal_entry", **out}

    def _decode_params(self) -> dict[str, Any]:
        try:
            if self.v2:
                if self.raw_body.strip() and self.method not in ("GET", "DELETE"):
                    return cast(dict[str, Any], loads_json(self.raw_body))
                return dict(decode(self.raw_query))
            params = dict(decode(self.raw_query))
            if self.method in ("POST", "DELETE"):
                params.update(decode(self.raw_body))
            return params
        except StripeError:  # the request was refused for it: nothing decoded to show
            return {}


def has_glob(pattern: str) -> bool:
    """Whether a path pattern uses glob characters (`*`, `?`, `[`)."""
    return any(c in pattern for c in "*?[")


def path_matches(pattern: str, path: str) -> bool:
    """Exact match, or a glob (`/v1/subscription_items/*/usage_records`; `*` spans `/`)."""
    return fnmatchcase(path, pattern) if has_glob(pattern) else path == pattern


def token_namespace(st: Store, environ: dict[str, Any]) -> Namespace | None:
    """The account behind a v2 meter event session token in the Authorization header, read as
    the stream route reads it (Bearer, or Basic with the token as user)."""
    try:
        token = key_from_header(environ.get("HTTP_AUTHORIZATION"))
    except StripeError:
        return None
    entry = st.session_tokens.get(token)
    return st.namespace(entry[0]) if entry else None


def request_namespace(s: Any) -> Namespace | None:
    """The account of an API request (`state.State`): API key or meter event session token."""
    space = s.ns
    if space is None and s.v2:
        space = token_namespace(s.store, s.environ)
    return space if isinstance(space, Namespace) else None


def record(s: Any, resp: Response) -> None:
    """Append the request (`state.State`) and `resp` to its account's journal."""
    path = s.path
    if not s.api or not path.startswith(("/v1/", "/v2/")):
        return
    space = s.ns
    if space is None:
        space = request_namespace(s)
        if space is None:
            return
    body = resp.response
    if isinstance(body, list) and len(body) == 1:
        body_bytes = body[0]
    else:
        body_bytes = resp.get_data() if not resp.is_streamed else b""
    truncated = len(body_bytes) > MAX_BODY
    # the request body as read by the pipeline (never read here: a GET has none to read)
    raw_body = s.body or b""
    environ = s.environ
    raw_query = environ.get("QUERY_STRING", "").encode("latin-1")
    params_truncated = len(raw_body) + len(raw_query) > MAX_BODY
    if params_truncated:
        raw_body = raw_query = b""
    held = (0 if truncated else len(body_bytes)) + len(raw_body) + len(raw_query)
    size = held + 400  # the entry itself
    # held as a tuple (`_entry` makes the JournalEntry when the journal is read): the cheap
    # thing to build on every request
    journal: deque[Any] = space.journal
    ext = space.extensions
    with _LOCK:
        seq = ext.get(_SEQ_KEY, 0) + 1
        ext[_SEQ_KEY] = seq
        total = ext.get(_BYTES_KEY, 0) + size
        journal.append(
            (
                seq,
                clock.real_time_float(),
                s.method,
                path,
                raw_query,
                raw_body,
                s.v2,
                params_truncated,
                environ.get("HTTP_IDEMPOTENCY_KEY"),
                resp._status_code,  # the status_code property, read without its call
                b"" if truncated else body_bytes,
                s.request_id,
                s.version,
                s.replayed,  # set by the pipeline on an idempotent replay
                s.fault,
                truncated,
                size,
            )
        )
        # a deque: dropping the oldest costs the same at any length (a list moved all the rest)
        while len(journal) > MAX_ENTRIES or (total > MAX_BYTES and len(journal) > 1):
            total -= journal.popleft()[_SIZE]
        ext[_BYTES_KEY] = total


_SEQ, _METHOD, _PATH, _SIZE = 0, 2, 3, 16


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    (
        seq,
        time,
        method,
        path,
        raw_query,
        raw_body,
        v2,
        params_truncated,
        idempotency_key,
        status,
        body,
        request_id,
        api_version,
        replayed,
        fault,
        truncated,
        size,
    ) = row
    return JournalEntry(
        seq=seq,
        time=time,
        method=method,
        path=path,
        params=None,
        raw_query=raw_query,
        raw_body=raw_body,
        v2=v2,
        params_truncated=params_truncated,
        idempotency_key=idempotency_key,
        status=status,
        response=None,
        body=body,
        request_id=request_id,
        api_version=api_version,
        replayed=replayed,
        fault=fault,
        response_truncated=truncated,
        size=size,
    )


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
        _entry(row)
        for row in found
        if row[_SEQ] > since
        and (meth is None or row[_METHOD] == meth)
        and (path is None or path_matches(path, row[_PATH]))
    ]


def clear(space: Namespace) -> None:
    """Forget the account's journal (sequence numbers keep increasing)."""
    with _LOCK:
        space.journal.clear()
        space.extensions[_BYTES_KEY] = 0
