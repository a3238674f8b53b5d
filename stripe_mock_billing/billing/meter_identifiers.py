"""Compact identifier index for Billing Meter events.

Emulates the bookkeeping behind two Stripe rules (shared/spec/meters.md §3, §4):
a meter event `identifier` is unique within a rolling window of at least 24 h
(`An event already exists with identifier <id>.`), and a meter event
adjustment cancels an event by its identifier, only while the event was
received less than 24 h ago.

Choice: the index does not keep identifier strings. Each identifier is reduced
to a 64-bit blake2b digest and stored in an open-addressing hash table made of
two `array('Q')` columns (digest, packed reference to the event's storage
row), linear probing, load factor <= 2/3. At 1M identifiers that is 2^21 slots
x 16 bytes = ~34 bytes per identifier, against ~150 bytes for a `dict[str, ...]`
(string object + dict entry + boxed value), and no per-entry Python objects
for the garbage collector to walk. The 24 h timestamps live with the events
(`received_at` column in meter_usage.py), so the table holds only refs.

LIMITATIONS:
- A 64-bit digest collision between two different identifiers makes the second
  one look like a duplicate (and a cancel by either name hits the stored one).
  With n identifiers alive the chance is about n^2 / 2^65: ~3e-8 at 1M.
- Entries are never dropped on their own; the owner calls `prune` (e.g. from
  the store's `prune(now)`), which rebuilds the table in O(n) Python steps.
- Not thread-safe; the namespace lock serialises access.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from hashlib import blake2b

_EMPTY = 0
_MIN_CAPACITY = 1 << 10


_BLAKE2B_64 = blake2b(digest_size=8)  # copied per digest: cheaper than a new hasher


def identifier_digest(identifier: str) -> int:
    """Return the 64-bit blake2b digest of `identifier` (0 is reserved for empty slots)."""
    hasher = _BLAKE2B_64.copy()
    hasher.update(identifier.encode())
    return int.from_bytes(hasher.digest(), "little") or 1


def _capacity_for(entries: int) -> int:
    capacity = _MIN_CAPACITY
    while entries * 3 > capacity * 2:
        capacity <<= 1
    return capacity


class IdentifierIndex:
    """Open-addressing map digest -> packed int reference, stored in two uint64 arrays."""

    __slots__ = ("_keys", "_mask", "_refs", "_used")

    def __init__(self, capacity: int = _MIN_CAPACITY) -> None:
        size = _capacity_for(capacity * 2 // 3)
        self._keys = array("Q", [_EMPTY]) * size
        self._refs = array("Q", [0]) * size
        self._mask = size - 1
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def find(self, digest: int) -> int:
        """The slot that holds `digest`, or the empty one where it would go (`get_at`/`put_at`)."""
        keys, mask = self._keys, self._mask
        slot = digest & mask
        while True:
            key = keys[slot]
            if key in (digest, _EMPTY):
                return slot
            slot = (slot + 1) & mask

    def get(self, digest: int) -> int | None:
        """Return the reference stored for `digest`, or None."""
        slot = self.find(digest)
        return self._refs[slot] if self._keys[slot] != _EMPTY else None

    def get_at(self, slot: int) -> int | None:
        """The reference in a slot found by `find` (None if the digest is not there)."""
        return self._refs[slot] if self._keys[slot] != _EMPTY else None

    def put(self, digest: int, ref: int) -> None:
        """Insert or overwrite the reference for `digest`."""
        self.put_at(self.find(digest), digest, ref)

    def put_at(self, slot: int, digest: int, ref: int) -> None:
        """`put` into the slot that `find(digest)` returned, with no write in between."""
        if self._keys[slot] == _EMPTY:
            if (self._used + 1) * 3 > len(self._keys) * 2:
                self._rebuild(_capacity_for(self._used + 1), None)
                slot = self.find(digest)
            self._keys[slot] = digest
            self._used += 1
        self._refs[slot] = ref

    def prune(self, keep: Callable[[int], bool]) -> int:
        """Drop every entry whose reference fails `keep`; return how many were dropped."""
        before = self._used
        survivors = sum(
            1 for k, r in zip(self._keys, self._refs, strict=True) if k != _EMPTY and keep(r)
        )
        self._rebuild(_capacity_for(survivors), keep)
        return before - self._used

    def _rebuild(self, capacity: int, keep: Callable[[int], bool] | None) -> None:
        old_keys, old_refs = self._keys, self._refs
        self._keys = keys = array("Q", [_EMPTY]) * capacity
        self._refs = refs = array("Q", [0]) * capacity
        self._mask = mask = capacity - 1
        used = 0
        for key, ref in zip(old_keys, old_refs, strict=True):
            if key == _EMPTY or (keep is not None and not keep(ref)):
                continue
            slot = key & mask
            while keys[slot] != _EMPTY:
                slot = (slot + 1) & mask
            keys[slot] = key
            refs[slot] = ref
            used += 1
        self._used = used
