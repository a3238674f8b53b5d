"""The one exception hierarchy of the emulator.

Every failure a client can see is raised as a `StripeError` (or a subclass) anywhere in the code
and rendered once, by `wire/render.py`, into Stripe's v1 or v2 error envelope. Builders for the
common errors live here so that messages are written once.

LIMITATIONS: messages marked (unverified) in ../shared/spec are our best reading of Stripe.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any

DOCS_TAIL = "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."


class StripeError(Exception):
    """An error with Stripe's HTTP status, `type`, `code`, `param` and message."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        should_retry: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.should_retry = should_retry
        self.headers = dict(headers or {})
        # False for errors raised before the endpoint starts executing (param validation):
        # Stripe does not store those under an idempotency key.
        self.store_idempotent = True


class InvalidRequest(StripeError):
    """400 `invalid_request_error`."""


class ParameterError(InvalidRequest):
    """A parameter failed validation; never stored for idempotency."""

    def __init__(self, message: str, *, param: str | None, code: str | None = None) -> None:
        super().__init__(message, code=code, param=param)
        self.store_idempotent = False


class CardError(StripeError):
    """402 `card_error`: a declined card (`decline_code`, and the objects involved in `extra`,
    e.g. `payment_method`)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        decline_code: str | None = None,
        param: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, status=402, type="card_error", code=code, param=param)
        self.decline_code = decline_code
        self.extra = dict(extra or {})


class ResourceMissing(StripeError):
    """`resource_missing`: 404 for ids in the URL path, 400 for ids in body params."""

    def __init__(self, noun: str, obj_id: str, *, param: str = "id", in_path: bool = True) -> None:
        super().__init__(
            f"No such {noun}: '{obj_id}'",
            status=404 if in_path else 400,
            code="resource_missing",
            param=param,
        )


class AuthenticationError(StripeError):
    """401 with no code."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(
            message,
            status=401,
            code=code,
            headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
        )


class PermissionDenied(StripeError):
    """403."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, status=403, code=code)


class IdempotencyError(StripeError):
    """400 `idempotency_error`: a key reused with other parameters."""

    def __init__(self, key: str) -> None:
        super().__init__(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            type="idempotency_error",
        )
        self.store_idempotent = False


class IdempotencyKeyLineBreak(StripeError):
    """400 for an `Idempotency-Key` holding a line break (an obsolete folded header, or a key
    passed in-process): no response header can echo it back. Stripe's answer is unverified (its
    front end refuses folded headers before the API); the emulator's choice: an
    `invalid_request_error` naming the header, checked before anything is written."""

    def __init__(self) -> None:
        super().__init__(
            "Invalid Idempotency-Key: it contains a line break, which an HTTP header cannot "
            "carry. Idempotent Keys must be 1-255 characters long, on one line."
        )
        self.store_idempotent = False


class IdempotencyKeyLength(StripeError):
    """400 `idempotency_error` for an empty key or one over 255 characters (Stripe's text, as
    quoted from real answers: no code, no param)."""

    def __init__(self, length: int) -> None:
        super().__init__(
            f"Idempotent key length is {length} characters long, which is outside accepted "
            "lengths. Idempotent Keys must be 1-255 characters long. If you're looking for a "
            "decent generator, try using a UUID defined by IETF RFC 4122.",
            type="idempotency_error",
        )
        self.store_idempotent = False


class IdempotencyKeyInUse(StripeError):
    """409 while another request with the same key is still running."""

    def __init__(self, key: str) -> None:
        super().__init__(
            "There is currently another in-progress request using this Idempotent Key (that "
            "probably means you submitted twice, and the other request is still going "
            f"through): {key}. Please try again later.",
            status=409,
            code="idempotency_key_in_use",
        )
        self.store_idempotent = False


class RateLimited(StripeError):
    """429 from the rate limiter (body shape unverified; see wire-format.md §11)."""

    def __init__(self, reason: str = "global-rate") -> None:
        super().__init__(
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            status=429,
            type="invalid_request_error",
            code="rate_limit",
            headers={"Stripe-Rate-Limited-Reason": reason},
        )
        self.store_idempotent = False


class LockTimeout(StripeError):
    """429 `lock_timeout`."""

    def __init__(self) -> None:
        super().__init__(
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. If you see this error intermittently, retry the "
            "request. If you see this error frequently and are making multiple concurrent "
            "requests to a single object, make your requests serially or at a lower rate.",
            status=429,
            code="lock_timeout",
        )


class ApiError(StripeError):
    """500 `api_error`."""

    def __init__(self, message: str = "An unknown error occurred") -> None:
        super().__init__(message, status=500, type="api_error")


class UnrecognizedURL(StripeError):
    """404 for a route Stripe does not have."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"Unrecognized request URL ({method}: {path}). {DOCS_TAIL}", status=404)
        self.store_idempotent = False


class V2Error(StripeError):
    """An error rendered in the v2 envelope (`type`, `code`, `message`; no `param`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message, status=status, type=type, code=code, should_retry=should_retry)


# --- builders for the common parameter errors (wire-format.md §7.3) ---------------------------


def missing_param(name: str) -> ParameterError:
    """`parameter_missing` for a required parameter."""
    return ParameterError(f"Missing required param: {name}.", param=name, code="parameter_missing")


def unknown_params(names: list[str]) -> ParameterError:
    """`parameter_unknown`; several names use Stripe's plural form, `param` is the first."""
    if len(names) == 1:
        msg = f"Received unknown parameter: {names[0]}"
    else:
        msg = f"Received unknown parameters: {', '.join(names)}"
    return ParameterError(msg, param=names[0], code="parameter_unknown")


def invalid_integer(name: str, value: str) -> ParameterError:
    """`parameter_invalid_integer`."""
    return ParameterError(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")


def invalid_empty(name: str) -> ParameterError:
    """`parameter_invalid_empty` for an empty string where a value is required (unverified text)."""
    return ParameterError(
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from "
        "your request or supply a non-empty value.",
        param=name,
        code="parameter_invalid_empty",
    )


def invalid_value(name: str, message: str, code: str | None = None) -> ParameterError:
    """A parameter with a value Stripe rejects (enum, range, shape)."""
    return ParameterError(message, param=name, code=code)


def exclusive_params(names: list[str]) -> ParameterError:
    """`parameters_exclusive` (unverified wording)."""
    return ParameterError(
        f"You may only specify one of these parameters: {', '.join(names)}.",
        param=names[0],
        code="parameters_exclusive",
    )


class ErrorLog:
    """The unexpected exceptions an app hit, kept for the thread / in-process adapters to
    re-raise into tests: only the newest `max_count`, at most `max_bytes` of messages, each with
    its frames' locals cleared (a traceback kept a request's body alive: thirty 500s with 8 MB
    bodies held 560 MB). `len()` and indexes count every exception ever appended, so
    `errors[seen:]` still means "those since `seen`" after old ones are dropped."""

    def __init__(self, max_count: int = 100, max_bytes: int = 1024 * 1024) -> None:
        self.max_count, self.max_bytes = max_count, max_bytes
        self._kept: deque[tuple[BaseException, int]] = deque()
        self._dropped = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def append(self, err: BaseException) -> None:
        """Keep `err` (trimmed), dropping the oldest ones over the limits."""
        _strip(err)
        size = sum(len(str(a)) for a in err.args) + 200
        with self._lock:
            for old, _ in self._kept:  # their frames have finished executing by now
                _strip(old)
            self._kept.append((err, size))
            self._bytes += size
            while self._kept and (len(self._kept) > self.max_count or self._bytes > self.max_bytes):
                _, dropped = self._kept.popleft()
                self._bytes -= dropped
                self._dropped += 1

    def __len__(self) -> int:
        return self._dropped + len(self._kept)

    def __iter__(self) -> Iterator[BaseException]:
        return iter([e for e, _ in self._kept])

    def __getitem__(self, index: int | slice) -> Any:
        kept = [e for e, _ in self._kept]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return [kept[i - self._dropped] for i in range(start, stop, step) if i >= self._dropped]
        if index < 0:
            return kept[index]
        if index < self._dropped:
            raise IndexError("this error was dropped (ErrorLog keeps the newest only)")
        return kept[index - self._dropped]


MAX_ERROR_TEXT = 16 * 1024


def _strip(err: BaseException | None) -> None:
    """Clear the locals of an exception's finished frames (and of its causes); cut its text."""
    seen = 0
    while err is not None and seen < 10:
        if err.__traceback__ is not None:
            traceback.clear_frames(err.__traceback__)
        if any(isinstance(a, str | bytes) and len(a) > MAX_ERROR_TEXT for a in err.args):
            err.args = tuple(
                a[:MAX_ERROR_TEXT] if isinstance(a, str | bytes) else a for a in err.args
            )
        err = err.__cause__ or err.__context__
        seen += 1
