"""Idempotency keys on POST (wire-format.md §10).

The first execution of a key stores its status and body (errors included, but not parameter
validation failures); a replay with the same parameters returns them with
`Idempotent-Replayed: true`; other parameters give 400 `idempotency_error`; a replay while the
first is still running gives 409 `idempotency_key_in_use`. Keys are kept per account for the
configured TTL (24 h) and at most `max_keys` of them (oldest evicted first), so memory is bounded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..errors import (
    IdempotencyError,
    IdempotencyKeyInUse,
    IdempotencyKeyLength,
    IdempotencyKeyLineBreak,
)
from ..store import IdempotencyEntry, Namespace

MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, flat_params: list[tuple[str, str]]) -> str:
    """A digest of the endpoint and its decoded parameters (order-independent), written as the
    `repr` of a tuple: no two parameter sets share a text (`a=b` + `c` and `a` + `b=c` joined
    with `=` would), and `repr` escapes what UTF-8 cannot encode (a lone surrogate)."""
    text = repr((method, path, sorted(flat_params)))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def begin(
    ns: Namespace,
    key: str,
    fp: str,
    request_id: str,
    now: float,
    *,
    ttl: int,
    max_keys: int,
) -> IdempotencyEntry | None:
    """Claim `key` for this request; return the stored entry when this is a replay."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyLength(len(key))
    if "\n" in key or "\r" in key:  # the key is echoed in a response header
        raise IdempotencyKeyLineBreak()
    with ns.idem_lock:
        table = ns.idempotency
        _evict(table, lambda oldest: now - oldest.created > ttl)  # expired keys
        entry = table.get(key)
        if entry is not None and now - entry.created > ttl and entry.done:
            del table[key]
            entry = None
        if entry is None:
            # only a new key makes room: a replay never drops another stored key
            _evict(table, lambda _oldest: len(table) >= max_keys)
            table[key] = IdempotencyEntry(fingerprint=fp, created=now, request_id=request_id)
            return None
        if entry.fingerprint != fp:
            raise IdempotencyError(key)
        if not entry.done:
            raise IdempotencyKeyInUse(key)
        return entry


def _evict(table: dict[str, IdempotencyEntry], due: Callable[[IdempotencyEntry], bool]) -> None:
    """Drop finished keys from the oldest while `due(oldest)`; a key still running stays."""
    while table:
        oldest_key = next(iter(table))
        oldest = table[oldest_key]
        if not (oldest.done and due(oldest)):
            return
        del table[oldest_key]


def finish(ns: Namespace, key: str, status: int, body: bytes, headers: dict[str, str]) -> None:
    """Store the outcome of the first execution of `key`."""
    with ns.idem_lock:
        entry = ns.idempotency.get(key)
        if entry is not None and not entry.done:
            entry.done = True
            entry.status = status
            entry.body = body
            entry.headers = headers


def abandon(ns: Namespace, key: str) -> None:
    """Forget an unfinished claim (validation failure): the key may be retried."""
    with ns.idem_lock:
        entry = ns.idempotency.get(key)
        if entry is not None and not entry.done:
            del ns.idempotency[key]
