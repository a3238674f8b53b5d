"""Export and import an account's state as JSON (seed data, snapshot / restore).

The encoding is generic, so tables added later keep working without changes here: every field
of the Namespace except its locks, caches and control-API state is walked. Dataclasses are
written field by field (`dataclasses.fields`), other classes of this package by their
`__slots__` / `__dict__` (the column-wise meter and usage stores included), or through their
own `to_snapshot()` / `from_snapshot(state)` when they define them. JSON-native values stay as
they are; everything else is tagged: `{"$decimal": "0.05"}`, `{"$array": "q", ...}` (base64 of
the machine values, byte order recorded), `{"$set": [...]}`, `{"$tuple": [...]}`,
`{"$dict": [[k, v], ...]}` for non-string keys, `{"$enum": ...}`, `{"$float": "inf"}`. Objects
referenced twice are written once (`"$id"`) and then by reference (`{"$ref": n}`), so shared
structures (e.g. a series both in an index and in a list) stay shared after import.

Import is pickle-free and accepts only the snapshot's own schema: classes come from an explicit
allow-list (`ALLOWED`, by `module:qualname`; an enum tag may only name an Enum of the list, a
named tuple only a NamedTuple of it), `__init__` is never called, every field is checked against
its declared type (dataclasses by their annotations, the column stores by `PLAIN_FIELDS` plus
their invariants, each table by the class it holds), caches are dropped, and the whole state is
built before the account is touched: anything else is a 400 that changes nothing.

LIMITATIONS: the idempotency cache, the rate-limit window, the journal and fault rules are not
exported (they describe traffic, not state); v2 meter event session tokens live on the store,
not the account, and are not exported. A snapshot is tied to this emulator's version: a field
added since is filled from its default, a class removed since makes the import fail.

The package: `schema.py` (the format: its name and version, the allow-list of classes, the class
of each table, the declared fields of the column stores, `SnapshotError`), `encode.py` (export:
the encoder and `export_state`), `checks.py` (what an import verifies: declared types, the
column stores' invariants, the tables' classes) and `decode.py` (import: the decoder,
`decode_state` and `import_state`).
"""

from __future__ import annotations

# `_Decoder`, `_Encoder` and `_class` stay reachable here for tests/unit/test_snapshot.py
from .decode import _Decoder as _Decoder
from .decode import decode_state, import_state
from .encode import _Encoder as _Encoder
from .encode import export_state
from .schema import (
    ALLOWED,
    FORMAT,
    FORMAT_VERSION,
    PACKAGE,
    PLAIN_FIELDS,
    SKIP_FIELDS,
    TABLES,
    SnapshotError,
    state_fields,
)
from .schema import _class as _class

__all__ = [
    "ALLOWED",
    "FORMAT",
    "FORMAT_VERSION",
    "PACKAGE",
    "PLAIN_FIELDS",
    "SKIP_FIELDS",
    "TABLES",
    "SnapshotError",
    "decode_state",
    "export_state",
    "import_state",
    "state_fields",
]
