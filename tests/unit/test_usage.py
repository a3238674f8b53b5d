"""ItemUsage (billing/usage.py): table-driven cases, property tests against a brute-force dict."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing.billing.usage import BLOCK, MERGE_ONE_BY_ONE, MODES, ItemUsage


class Model:
    """Brute force: Stripe's reference algorithm (usage-records-legacy.md §5) over a dict."""

    def __init__(self) -> None:
        self.q: dict[int, int] = {}

    def record(self, t: int, qty: int, action: str) -> None:
        self.q[t] = self.q.get(t, 0) + qty if action == "increment" else qty

    def quantity(self, mode: str, start: int, end: int) -> int:
        inside = sorted(t for t in self.q if start <= t < end)
        if mode == "sum":
            return sum(self.q[t] for t in inside)
        if mode == "last_during_period":
            return self.q[inside[-1]] if inside else 0
        if mode == "max":
            return max((self.q[t] for t in inside), default=0)
        before = [t for t in self.q if t < end]
        return self.q[max(before)] if before else 0


def test_empty_usage_is_zero_in_every_mode() -> None:
    u = ItemUsage()
    for mode in MODES:
        assert u.quantity(mode, 0, 10**10) == 0
    assert u.count() == 0
    assert u.first_timestamp() is None


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("sum", 3 + 10), ("last_during_period", 10), ("last_ever", 10), ("max", 10)],
)
def test_increment_adds_into_the_bucket_at_that_timestamp(mode: str, expected: int) -> None:
    u = ItemUsage()
    u.record(100, 1, "increment")
    u.record(100, 2, "increment")
    u.record(150, 10, "increment")
    assert u.quantity(mode, 100, 200) == expected
    assert u.count() == 2
    assert u.records == 3


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("sum", 4 + 1), ("last_during_period", 1), ("last_ever", 1), ("max", 4)],
)
def test_set_overwrites_only_its_own_timestamp(mode: str, expected: int) -> None:
    u = ItemUsage()
    u.record(100, 7, "increment")
    u.record(100, 4, "set")
    u.record(120, 1, "set")
    assert u.quantity(mode, 100, 200) == expected


def test_boundary_timestamp_belongs_to_the_next_period() -> None:
    u = ItemUsage()
    u.record(99, 1, "increment")
    u.record(100, 5, "increment")
    u.record(199, 7, "increment")
    u.record(200, 11, "increment")
    assert u.quantity("sum", 100, 200) == 12
    assert u.quantity("sum", 200, 300) == 11
    assert u.quantity("last_during_period", 100, 200) == 7
    assert u.quantity("max", 200, 300) == 11


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(100, 200, 5), (200, 300, 5), (300, 400, 9), (0, 100, 0), (400, 500, 9)],
)
def test_last_ever_carries_across_periods(start: int, end: int, expected: int) -> None:
    u = ItemUsage()
    u.record(150, 5, "set")
    u.record(350, 9, "set")
    assert u.quantity("last_ever", start, end) == expected


def test_last_during_period_is_zero_in_an_empty_period() -> None:
    u = ItemUsage()
    u.record(150, 5, "set")
    assert u.quantity("last_during_period", 200, 300) == 0


def test_set_to_zero_counts_as_the_latest_value() -> None:
    u = ItemUsage()
    u.record(100, 5, "set")
    u.record(110, 0, "set")
    assert u.quantity("last_during_period", 0, 200) == 0
    assert u.quantity("last_ever", 0, 200) == 0
    assert u.has_usage(105, 200)


def test_out_of_order_timestamps_are_merged_lazily() -> None:
    u = ItemUsage()
    for t in (500, 100, 300, 100, 200):
        u.record(t, t // 100, "increment")
    assert u.buckets(0, 1000) == [(100, 2), (200, 2), (300, 3), (500, 5)]
    assert u.quantity("sum", 150, 400) == 5
    u.record(300, 1, "set")  # into the merged columns, mid history
    assert u.quantity("sum", 0, 1000) == 10
    assert u.first_timestamp() == 100 and u.last_timestamp() == 500


def test_max_spanning_many_blocks_sees_a_lowered_bucket() -> None:
    u = ItemUsage()
    n = BLOCK * 5 + 17
    for t in range(n):
        u.record(t, t % 97, "increment")
    assert u.quantity("max", 0, n) == 96
    for t in range(n):
        if t % 97 == 96:
            u.record(t, 1, "set")
    assert u.quantity("max", 0, n) == 95
    assert u.quantity("max", 3, BLOCK * 3 + 5) == 95
    assert u.quantity("max", BLOCK + 1, BLOCK + 3) == (BLOCK + 2) % 97


def test_clear_forgets_everything() -> None:
    u = ItemUsage()
    u.record(10, 3, "increment")
    u.record(5, 3, "increment")
    u.clear()
    assert u.count() == 0
    assert all(u.quantity(m, 0, 100) == 0 for m in MODES)
    u.record(7, 2, "increment")
    assert u.quantity("sum", 0, 100) == 2


def test_quantities_beyond_int64_stay_exact() -> None:
    u = ItemUsage()
    big = 2**63 - 1
    u.record(1, big, "increment")
    u.record(2, big, "increment")
    u.record(2, big, "increment")
    assert u.quantity("sum", 0, 10) == 3 * big


@pytest.mark.parametrize(
    ("args", "message"),
    [((1, -1, "increment"), "non-negative"), ((1, 1, "add"), "unknown action")],
)
def test_invalid_record_arguments_raise(args: tuple[int, int, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ItemUsage().record(*args)


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="unknown aggregate_usage"):
        ItemUsage().quantity("avg", 0, 1)


# --- properties ----------------------------------------------------------------------------

timestamps = st.integers(min_value=0, max_value=60)
ops = st.lists(
    st.tuples(
        timestamps,
        st.integers(min_value=0, max_value=1000),
        st.sampled_from(["increment", "set"]),
    ),
    max_size=80,
)
queries = st.lists(
    st.tuples(st.sampled_from(MODES), timestamps, timestamps),
    min_size=1,
    max_size=10,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, queries=queries, query_every=st.integers(min_value=1, max_value=20))
def test_matches_brute_force_with_interleaved_queries(
    ops: list[tuple[int, int, str]],
    queries: list[tuple[str, int, int]],
    query_every: int,
) -> None:
    u, m = ItemUsage(), Model()
    for k, (t, q, action) in enumerate(ops):
        u.record(t, q, action)
        m.record(t, q, action)
        if k % query_every == 0:  # queries between writes exercise the lazy watermarks
            for mode, a, b in queries:
                assert u.quantity(mode, a, b) == m.quantity(mode, a, b)
    for mode, a, b in queries:
        assert u.quantity(mode, a, b) == m.quantity(mode, a, b)
    assert u.count() == len(m.q)


@settings(max_examples=100, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=BLOCK * 3),
            st.integers(min_value=0, max_value=50),
            st.sampled_from(["increment", "set"]),
        ),
        min_size=BLOCK,
        max_size=BLOCK * 2,
    ),
    bounds=st.tuples(
        st.integers(min_value=0, max_value=BLOCK * 3), st.integers(min_value=0, max_value=BLOCK * 3)
    ),
)
def test_max_over_blocks_matches_brute_force(
    ops: list[tuple[int, int, str]], bounds: tuple[int, int]
) -> None:
    u, m = ItemUsage(), Model()
    for t, q, action in sorted(ops, key=lambda o: o[0]):  # mostly appends, then updates
        u.record(t, q, action)
        m.record(t, q, action)
    a, b = bounds
    assert u.quantity("max", a, b) == m.quantity("max", a, b)
    for k, (t, q, action) in enumerate(ops):
        u.record(t, q, action)
        m.record(t, q, action)
        if k % 37 == 0:  # block maxima lowered by `set`s between queries
            assert u.quantity("max", a, b) == m.quantity("max", a, b)
            assert u.quantity("max", 0, BLOCK * 3 + 1) == m.quantity("max", 0, BLOCK * 3 + 1)
    assert u.quantity("max", a, b) == m.quantity("max", a, b)
    assert u.quantity("sum", 0, BLOCK * 3 + 1) == m.quantity("sum", 0, BLOCK * 3 + 1)


@settings(max_examples=200, deadline=None)
@given(ops=ops, cuts=st.lists(timestamps, min_size=1, max_size=5))
def test_sum_over_consecutive_periods_adds_up_to_the_total(
    ops: list[tuple[int, int, str]], cuts: list[int]
) -> None:
    u = ItemUsage()
    for t, q, action in ops:
        u.record(t, q, action)
    bounds = [0, *sorted(set(cuts)), 61]
    parts = sum(u.quantity("sum", a, b) for a, b in pairwise(bounds))
    assert parts == u.quantity("sum", 0, 61)


@settings(max_examples=50, deadline=None)
@given(
    stamps=st.lists(
        st.integers(min_value=0, max_value=5000),
        min_size=MERGE_ONE_BY_ONE + 2,
        max_size=MERGE_ONE_BY_ONE * 4,
    ),
    extra=st.integers(min_value=1, max_value=MERGE_ONE_BY_ONE),
    bounds=st.tuples(st.integers(0, 5001), st.integers(0, 5001)),
)
def test_bulk_and_one_by_one_merges_of_late_timestamps(
    stamps: list[int], extra: int, bounds: tuple[int, int]
) -> None:
    u, m = ItemUsage(), Model()
    u.record(5001, 1, "increment")  # everything after this is late: pending until a query
    m.record(5001, 1, "increment")
    for k, t in enumerate(stamps):  # more than MERGE_ONE_BY_ONE pending: bulk merge
        u.record(t, k, "set" if k % 3 == 0 else "increment")
        m.record(t, k, "set" if k % 3 == 0 else "increment")
    a, b = bounds
    for mode in MODES:
        assert u.quantity(mode, a, b) == m.quantity(mode, a, b)
    for k, t in enumerate(stamps[:extra]):  # a few late ones: inserted one by one
        u.record(t - 1 if t > 0 else 0, k + 1, "increment")
        m.record(t - 1 if t > 0 else 0, k + 1, "increment")
    for mode in MODES:
        assert u.quantity(mode, a, b) == m.quantity(mode, a, b)
    assert u.buckets(0, 6000) == sorted(m.q.items())
