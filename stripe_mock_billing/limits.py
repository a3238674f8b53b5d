"""Every size, depth and time limit of the emulator, and the two input readers that enforce them.

One place for the numbers, so docs/reference/limits.md can list them all and nothing reads
untrusted input around them: integers from text go through `parse_int` (never `int(text)`,
which is quadratic in the digits and raises ValueError past 4,300 of them), JSON bodies through
`loads_json` (never `json.loads`: no RecursionError on deep nesting, no lone UTF-16 surrogate
that later fails to encode). tests/unit/test_limits.py fails on a bare `json.loads` in the
package.

Limits are chosen so that no real SDK request reaches them (a Stripe request is a few KiB, keys
at most ~60 characters, nesting at most 5 levels); Stripe's own limits are unpublished where not
noted.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidRequest

# --- request bodies (wire/form.py, wire/pipeline.py, the servers) ----------------------------
MAX_BODY_BYTES = 16 * 1024 * 1024  # larger bodies: 413 `request_too_large`
MAX_FORM_DEPTH = 10  # `a[b][c]...`: levels of a form key, the name included
MAX_FORM_PAIRS = 10_000  # `k=v` pairs per body or query string
MAX_KEY_LENGTH = 500  # characters of one decoded form key (Stripe's longest: ~60)
MAX_VALUE_LENGTH = 128 * 1024  # characters of one decoded form value (Stripe strings: 5,000)
MAX_JSON_DEPTH = 64  # nesting of arrays / objects in a JSON body (v2, control API)
MAX_INT_DIGITS = 40  # digits an integer parameter may have before it is not an integer
# API keys (wire/auth.py): Stripe's are ~110 characters; a longer key is an invalid one (401)
MAX_API_KEY_LENGTH = 255

# --- connections (loop_server.py; cli_server.py for --threaded) -------------------------------
MAX_HEADER_BYTES = 64 * 1024  # request line + headers; more: 431
HEADER_TIMEOUT = 10.0  # seconds from a request's first byte (or the connect) to its last header
BODY_TIMEOUT = 30.0  # seconds from the last header to the end of the body
IDLE_TIMEOUT = 75.0  # seconds a keep-alive connection may wait for its next request
MAX_CONNECTIONS = 1024  # open client connections; more are answered 503 and closed
DRAIN_TIMEOUT = 10.0  # seconds SIGTERM waits for requests in flight before exiting
THREADED_WORKERS = 64  # --threaded (cheroot): threads, so slow clients cannot take them all
THREADED_TIMEOUT = 10  # --threaded: seconds a socket read may wait

# --- time --------------------------------------------------------------------------------------
# Unix timestamps accepted in parameters (test clock `frozen_time`, `trial_end`, ...):
# 1970-01-01 .. 2999-12-31T23:59:59Z, so period math (which works in years 1..9999) always fits
MIN_TIMESTAMP = 0
MAX_TIMESTAMP = 32_503_679_999


def parse_int(text: str, *, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """`text` as a base-10 integer (optional `-`), or None when it is not one or is too long."""
    digits = text[1:] if text[:1] == "-" else text
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _bad_json(message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid JSON: {message}")


def _check_tree(value: Any) -> None:
    """Depth and text checks of a decoded JSON value, iteratively (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    raise _bad_json("the request body contains an invalid \\u escape.") from None
            continue
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _bad_json(f"the request body is nested more than {MAX_JSON_DEPTH} levels.")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                if isinstance(k, str):
                    stack.append((k, depth))
                stack.append((v, depth + 1))


def loads_json(raw: bytes | str, *, require_object: bool = True) -> Any:
    """Decode an untrusted JSON body, or a 400 `Invalid JSON: ...` (never a 500)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise _bad_json(f"the request body is nested more than {MAX_JSON_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise _bad_json("the request body could not be parsed.") from None
    _check_tree(data)
    if require_object and not isinstance(data, dict):
        raise _bad_json("the request body must be a JSON object.")
    return data
