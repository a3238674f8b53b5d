"""meter_quantity (what the engine bills) and lagged summaries against a brute-force reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_mock_billing.billing.meter_billing import event_store, meter_quantity
from stripe_mock_billing.billing.meter_lag import lagged_summaries
from stripe_mock_billing.billing.meter_usage import MeterEventStore
from stripe_mock_billing.config import AccountSettings
from stripe_mock_billing.domain.meters import Meter
from stripe_mock_billing.store import Namespace
from tests.meter_reference import accepted, aggregate

DAY0 = 1_700_006_400  # a UTC midnight
H, D = 3600, 86400
CUS = "cus_1"


def _ns(formula: str = "sum", window: str | None = None) -> Namespace:
    ns = Namespace(api_key="sk_test_unit", settings=AccountSettings())
    ns.meters["mtr_1"] = Meter(
        id="mtr_1",
        created=DAY0,
        updated=DAY0,
        display_name="m",
        event_name="e",
        formula=formula,  # type: ignore[arg-type]
        event_time_window=window,  # type: ignore[arg-type]
    )
    return ns


def _load(ns: Namespace, events: list[tuple[int, int, str]], received: list[int]) -> None:
    store = event_store(ns)
    seen: set[str] = set()
    for (ts, value, ident), rec in zip(events, received, strict=True):
        if ident in seen:
            continue  # a duplicate is refused before it reaches the store
        seen.add(ident)
        store.add("mtr_1", CUS, ts, value, ident, rec, ns.meters["mtr_1"].event_time_window)


def test_unknown_meter_or_no_events_is_zero() -> None:
    ns = _ns()
    assert meter_quantity(ns, "mtr_1", CUS, DAY0, DAY0 + D) == 0  # store not created yet
    assert ns.meter_events is None
    assert meter_quantity(ns, "mtr_other", CUS, DAY0, DAY0 + D) == 0
    _load(ns, [(DAY0, 5, "a")], [DAY0])
    assert meter_quantity(ns, "mtr_1", CUS, DAY0, DAY0 + 1) == 5
    assert meter_quantity(ns, "mtr_1", CUS, DAY0 + 1, DAY0 + 1) == 0
    assert meter_quantity(ns, "mtr_1", "cus_other", DAY0, DAY0 + D) == 0


def test_negative_total_is_returned_raw() -> None:
    ns = _ns()
    _load(ns, [(DAY0, 5, "a"), (DAY0 + 10, -9, "b")], [DAY0, DAY0])
    assert meter_quantity(ns, "mtr_1", CUS, DAY0, DAY0 + D) == -4  # the engine clamps to 0


def test_cancel_leaves_the_quantity() -> None:
    ns = _ns()
    _load(ns, [(DAY0, 5, "a"), (DAY0 + 10, 7, "b")], [DAY0, DAY0])
    assert isinstance(ns.meter_events, MeterEventStore)
    ns.meter_events.cancel("a", DAY0 + 60)
    assert meter_quantity(ns, "mtr_1", CUS, DAY0, DAY0 + D) == 7


# boundary-heavy timestamps: exact hour/day edges and their neighbours
_OFFSETS = st.one_of(
    st.integers(0, 3 * D - 1),
    st.sampled_from([0, 1, H - 1, H, H + 1, D - 1, D, D + 1, 2 * D - 1, 2 * D]),
)
_EVENTS = st.lists(
    st.tuples(_OFFSETS, st.integers(-50, 50), st.sampled_from([f"i{n}" for n in range(12)])),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(
    events=_EVENTS,
    cancel=st.sets(st.sampled_from([f"i{n}" for n in range(12)])),
    formula=st.sampled_from(["sum", "count", "last"]),
    window=st.sampled_from([None, "hour", "day"]),
    start=_OFFSETS,
    length=st.integers(0, 3 * D),
)
def test_quantity_matches_brute_force(
    events: list[tuple[int, int, str]],
    cancel: set[str],
    formula: str,
    window: str | None,
    start: int,
    length: int,
) -> None:
    ns = _ns(formula, window)
    absolute = [(DAY0 + off, v, ident) for off, v, ident in events]
    _load(ns, absolute, [DAY0] * len(absolute))
    store = event_store(ns)
    for ident in cancel:
        store.cancel(ident, DAY0 + 60)
    lo, hi = DAY0 + start, DAY0 + start + length
    expected = aggregate(absolute, cancel, formula, window, lo, hi)
    assert meter_quantity(ns, "mtr_1", CUS, lo, hi) == expected


@settings(max_examples=200, deadline=None)
@given(
    events=_EVENTS,
    received_offsets=st.lists(st.integers(0, 120), min_size=30, max_size=30),
    cancel=st.sets(st.sampled_from([f"i{n}" for n in range(12)])),
    formula=st.sampled_from(["sum", "count", "last"]),
    window=st.sampled_from([None, "hour", "day"]),
    grouping=st.sampled_from([None, "hour", "day"]),
    cutoff=st.integers(0, 121),
)
def test_lagged_summaries_match_brute_force(
    events: list[tuple[int, int, str]],
    received_offsets: list[int],
    cancel: set[str],
    formula: str,
    window: str | None,
    grouping: str | None,
    cutoff: int,
) -> None:
    ns = _ns(formula, window)
    absolute = [(DAY0 + off, v, ident) for off, v, ident in events]
    received = sorted(DAY0 + r for r in received_offsets[: len(absolute)])  # arrival order
    _load(ns, absolute, received)
    store = event_store(ns)
    for ident in cancel:
        store.cancel(ident, DAY0 + 200)
    # what is visible: accepted events received before the cutoff
    first_received = {}
    for (_, _, ident), rec in zip(absolute, received, strict=True):
        first_received.setdefault(ident, rec)
    visible = [e for e in accepted(absolute) if first_received[e[2]] < DAY0 + cutoff]
    rows = lagged_summaries(
        store,
        "mtr_1",
        CUS,
        formula,
        DAY0,
        DAY0 + 3 * D,
        grouping,
        window,
        DAY0 + cutoff,  # type: ignore[arg-type]
    )
    assert rows[0][0] == DAY0 and rows[-1][1] == DAY0 + 3 * D
    for low, high, value in rows:
        assert value == aggregate(visible, cancel, formula, window, low, high)
