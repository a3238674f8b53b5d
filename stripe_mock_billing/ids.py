"""Stripe-style object ids: one prefix table, random base62 tails.

Ids are opaque to clients; we use the prefix + 24 base62 characters, which is within the range of
real ids (14-24 characters after the prefix). See wire-format.md §3.1.
"""

from __future__ import annotations

import os
import random

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# object `object` value -> id prefix
PREFIXES: dict[str, str] = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "subscription": "sub",
    "subscription_item": "si",
    "usage_record": "mbur",
    "usage_record_summary": "sis",
    "billing.meter": "mtr",
    "billing.meter_event_summary": "mtrusg",
    "v2.billing.meter_event_adjustment": "mtr_event_adj",
    "v2.billing.meter_event_session": "mes",
    "invoice": "in",
    "line_item": "il",
    "invoiceitem": "ii",
    "payment_method": "pm",
    "test_helpers.test_clock": "clock",
    "event": "evt",
    "webhook_endpoint": "we",
    "v2.core.event_destination": "ed_test",
    "request": "req",
    "billing.credit_grant": "credgr",
    "billing.credit_balance_transaction": "cbtxn",
    "billing.alert": "alrt",
}

# id prefix -> Namespace table attribute holding objects with that prefix (for expand and lookups)
TABLE_BY_PREFIX: dict[str, str] = {
    "cus": "customers",
    "prod": "products",
    "price": "prices",
    "sub": "subscriptions",
    "si": "subscription_items",
    "mtr": "meters",
    "in": "invoices",
    "ii": "invoiceitems",
    "pm": "payment_methods",
    "clock": "test_clocks",
    "evt": "events",
    "we": "webhook_endpoints",
    "ed": "event_destinations",
    "credgr": "credit_grants",
    "cbtxn": "credit_balance_transactions",
    "alrt": "alerts",
}


# byte -> base62 character (b % 62), for bytes.translate
_BASE62 = bytes(ord(ALPHABET[b % 62]) for b in range(256))
# identifiers need to be unique, not secret: a Mersenne Twister seeded from the OS (reseeded in
# a forked child) costs ~0.4 us per tail against ~1 us for os.urandom's system call.
# `getrandbits` is one C call, so threads never see the same state.
_RNG = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _RNG.seed(os.urandom(32)))


def random_tail(n: int = 24) -> str:
    """`n` random base62 characters from the OS's generator (secrets: signing keys, tokens)."""
    return os.urandom(n).translate(_BASE62).decode("ascii")


def id_tail(n: int = 24) -> str:
    """`n` random base62 characters for an identifier (unique, not secret)."""
    return _RNG.getrandbits(8 * n).to_bytes(n, "little").translate(_BASE62).decode("ascii")


def new_id(obj: str, n: int = 24) -> str:
    """A fresh id for an object type, e.g. `new_id("customer")` -> `cus_...`."""
    return f"{PREFIXES[obj]}_{id_tail(n)}"


def uuid4_str() -> str:
    """A random (version 4) UUID in its canonical text form, as `str(uuid.uuid4())` gives."""
    # 122 random bits; the version nibble 4 and the variant bits 10 (RFC 9562)
    h = (_RNG.getrandbits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def prefix_of(obj_id: str) -> str:
    """The prefix of an id (`cus_abc` -> `cus`); `''` when the id has none."""
    head, sep, _ = obj_id.partition("_")
    return head if sep else ""
