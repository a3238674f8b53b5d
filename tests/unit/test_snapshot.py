"""The generic snapshot codec: every kind of value the account tables hold round-trips."""

from __future__ import annotations

import json
import math
from array import array
from decimal import Decimal

import pytest

from stripe_mock_billing import snapshot
from stripe_mock_billing.billing.meter_usage import CancelResult, MeterEventStore
from stripe_mock_billing.billing.rating import Tier
from stripe_mock_billing.config import AccountSettings, Settings
from stripe_mock_billing.errors import InvalidRequest
from stripe_mock_billing.store import Store


def _roundtrip(value: object) -> object:
    enc = snapshot._Encoder().enc(value, "x")
    return snapshot._Decoder().dec(json.loads(json.dumps(enc)))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        -(2**70),
        "s",
        1.5,
        Decimal("0.000001"),
        (1, "a"),
        frozenset({1, 2}),
        {1, 2, 3},
        {"$weird": 1, "ok": [1, 2]},
        {1: "int key", (2, 3): "tuple key"},
        array("q", [1, -2, 2**62]),
        array("d", [0.5, -1.25]),
        array("I", [7]),
        Tier(up_to=10, unit_amount_decimal=Decimal("0.5"), flat_amount_decimal=None),
        CancelResult.TOO_OLD,
        AccountSettings(rate_limit=3),
    ],
)
def test_values_round_trip(value: object) -> None:
    assert _roundtrip(value) == value
    assert type(_roundtrip(value)) is type(value)


def test_non_finite_floats() -> None:
    assert _roundtrip(math.inf) == math.inf
    assert math.isnan(_roundtrip(math.nan))  # type: ignore[arg-type]


def test_shared_objects_stay_shared() -> None:
    inner = [1, 2]
    out = _roundtrip({"a": inner, "b": inner})
    assert isinstance(out, dict) and out["a"] is out["b"]


def test_meter_store_behaves_the_same_after_a_round_trip() -> None:
    store = MeterEventStore()
    for i, v in enumerate(["1", "2.5", "4"]):
        store.add("mtr_1", "cus_1", 100 + i, v, f"id{i}", received_at=1000)
    copy = _roundtrip(store)
    assert isinstance(copy, MeterEventStore)
    assert copy.cancel("id1", 1001) is CancelResult.CANCELLED
    assert store.cancel("id1", 1001) is CancelResult.CANCELLED
    for s in (store, copy):
        s.add("mtr_1", "cus_1", 99, "10", "late", received_at=1002)
    assert (
        copy.aggregate("mtr_1", "cus_1", "sum", 0, 200)
        == store.aggregate("mtr_1", "cus_1", "sum", 0, 200)
        == 15
    )
    assert copy.has_identifier("id0", 1003)


def test_foreign_objects_cannot_be_exported() -> None:
    space = Store(Settings()).namespace("sk_test_x")
    space.extensions["thing"] = object()
    with pytest.raises(snapshot.SnapshotError, match=r"cannot export extensions\.thing"):
        snapshot.export_state(space)


def test_only_package_classes_are_imported() -> None:
    bad = {"$id": 1, "$object": "subprocess:Popen", "fields": {}}
    with pytest.raises(snapshot.SnapshotError, match="outside stripe_mock_billing"):
        snapshot._Decoder().dec(bad)


def test_missing_dataclass_fields_take_their_defaults() -> None:
    node = {"$id": 1, "$object": "stripe_mock_billing.config:AccountSettings", "fields": {}}
    assert snapshot._Decoder().dec(node) == AccountSettings()


def test_settings_must_be_account_settings() -> None:
    space = Store(Settings()).namespace("sk_test_y")
    snap = snapshot.export_state(space)
    snap["state"]["settings"] = 5
    with pytest.raises(InvalidRequest, match="settings must be AccountSettings"):
        snapshot.import_state(space, snap)


def test_every_table_of_the_account_has_its_class_in_the_snapshot_format() -> None:
    """Import accepts only listed classes: a new Namespace table must be added to
    snapshot.TABLES (and its class to snapshot.ALLOWED), or exports of it cannot be imported."""
    import dataclasses

    from stripe_mock_billing.store import Namespace

    tables = {
        f.name
        for f in dataclasses.fields(Namespace)
        if f.default_factory is dict and f.name not in snapshot.SKIP_FIELDS
    }
    assert tables - set(snapshot.TABLES) - {"extensions"} == set()
    assert set(snapshot.TABLES.values()) <= snapshot.ALLOWED
    for name in snapshot.ALLOWED:
        assert isinstance(snapshot._class(name), type)
