"""The identifier index's growth (billing/meter_identifiers.py), pinned while reviewing its
surviving mutants (issue 15): its documented memory and speed rest on a table that starts at
1,024 slots, holds at most 2/3 of them and doubles when full, so inserts stay amortised O(1).
No API path shows this except as time or memory, hence a unit test."""

from __future__ import annotations

from collections.abc import Callable

from stripe_mock_billing.billing.meter_identifiers import IdentifierIndex, identifier_digest


class _CountingIndex(IdentifierIndex):
    """An index recording the size of every table rebuild."""

    def __init__(self) -> None:
        super().__init__()
        self.rebuilds: list[int] = []

    def _rebuild(self, capacity: int, keep: Callable[[int], bool] | None) -> None:
        self.rebuilds.append(capacity)
        super()._rebuild(capacity, keep)


def test_the_table_doubles_past_two_thirds_full_and_only_then() -> None:
    """5,000 identifiers: 1,024 slots grow to 2,048 at the 683rd, 4,096 at the 1,366th, 8,192
    at the 2,731st (683 x 3 > 1,024 x 2; 682 x 3 = 2,046 is not), with no other rebuild."""
    index = _CountingIndex()
    digests = [identifier_digest(f"evt_{n}") for n in range(5000)]
    grown_at: list[int] = []
    for n, digest in enumerate(digests):
        before = len(index.rebuilds)
        index.put(digest, n)
        if len(index.rebuilds) != before:
            grown_at.append(n + 1)
    assert (index.rebuilds, grown_at) == ([2048, 4096, 8192], [683, 1366, 2731])
    assert [index.get(d) for d in digests] == list(range(5000))
