"""API-key authentication (wire-format.md §4): Bearer or Basic, secret test keys only.

Each accepted key names its own account namespace. Live keys are refused with Stripe's
invalid-key 401 (the emulator has no live mode); publishable keys get Stripe's 403.
Restricted test keys (`rk_test_`) are accepted on v1 and refused on v2, as Stripe does.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from ..errors import AuthenticationError, PermissionDenied
from ..limits import MAX_API_KEY_LENGTH

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
PUBLISHABLE = (
    "This API call cannot be made with a publishable API key. Please use a secret API key. "
    "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys."
)
_MODE_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")


def mask_key(key: str) -> str:
    """Stripe's masking: mode prefix kept, every other character but the last 4 becomes `*`."""
    prefix = next((p for p in _MODE_PREFIXES if key.startswith(p)), "")
    body = key[len(prefix) :]
    if len(body) <= 4:
        return prefix + body
    return prefix + "*" * (len(body) - 4) + body[-4:]


def _empty_key(header: str) -> AuthenticationError:
    return AuthenticationError(
        "You did not provide an API key, though you did set your Authorization header to "
        f'"{header}". Using Bearer auth, your Authorization header should look something like '
        "'Authorization: Bearer YOUR_SECRET_KEY'. See https://stripe.com/docs/api#authentication "
        "for details, or we can help at https://support.stripe.com/."
    )


def key_from_header(header: str | None) -> str:
    """The API key in an Authorization header (Bearer or Basic with the key as user)."""
    if not header:
        raise AuthenticationError(NO_KEY)
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        # `Bearer undefined` (a JavaScript client without its key) is an invalid key at Stripe,
        # `Invalid API Key provided: *****ined`; only `null` counts as no key
        if not value or value == "null":
            raise _empty_key(value or header.strip())
        return value
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _empty_key(header.strip()) from None
        key = decoded.partition(":")[0]
        if not key:
            raise _empty_key(header.strip())
        return key
    raise AuthenticationError(NO_KEY)


_WHITESPACE = re.compile(r"\s")
# a header longer than this (Basic base64 is 4/3 of `key:password`) is not cached: a long
# password is allowed, and absurd headers must not fill the cache
_MAX_CACHED_HEADER = 16 + MAX_API_KEY_LENGTH * 4 // 3 + 8


def authenticate(header: str | None, *, v2: bool) -> str:
    """The secret test key of the request, or Stripe's 401/403. A key over 255 characters is
    an invalid key (Stripe's are ~110). A header too long to cache is parsed whole (the server
    bounds headers at limits.MAX_HEADER_BYTES) and checked without the cache, so absurd headers
    are neither cached nor made into accounts, and a long Basic password is still accepted."""
    if header is not None and len(header) > _MAX_CACHED_HEADER:
        return _check_key(key_from_header(header), v2=v2)
    return _authenticate(header, v2=v2)


@lru_cache(maxsize=4096)
def _authenticate(header: str | None, *, v2: bool) -> str:
    return _check_key(key_from_header(header), v2=v2)


def _check_key(key: str, *, v2: bool) -> str:
    if len(key) > MAX_API_KEY_LENGTH:
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(key[:40])}...")
    if key.startswith(("pk_test_", "pk_live_")):
        raise PermissionDenied(PUBLISHABLE, code="secret_key_required")
    ok = key.startswith("sk_test_") or (key.startswith("rk_test_") and not v2)
    if not ok or len(key) <= len("sk_test_") or _WHITESPACE.search(key):
        raise AuthenticationError(f"Invalid API Key provided: {mask_key(key)}")
    return key
