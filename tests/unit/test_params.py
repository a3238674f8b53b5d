"""Typed parameter specs: coercion, Stripe's check order, and the exact error texts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stripe_mock_billing.errors import ParameterError
from stripe_mock_billing.wire.form import decode
from stripe_mock_billing.wire.params import (
    INT64_MAX,
    Bool,
    DecimalStr,
    Enum,
    Int,
    List,
    Metadata,
    Obj,
    Str,
    StrMap,
    Timestamp,
    apply_metadata,
    one_of_text,
    parse,
)

SPEC = {
    "name": Str(max_length=10),
    "count": Int(min=1, max=100),
    "flag": Bool(),
    "kind": Enum(values=("a", "b", "c")),
    "amount": DecimalStr(places=2),
    "when": Timestamp(),
    "metadata": Metadata(),
    "payload": StrMap(),
    "recurring": Obj(
        fields={
            "interval": Enum(values=("day", "month"), required=True, nullable=False),
            "interval_count": Int(min=1),
        }
    ),
    "items": List(item=Obj(fields={"price": Str(required=True), "quantity": Int()}), max_items=3),
    "required_thing": Str(required=False),
}


def run(raw: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return parse(spec or SPEC, decode(raw))


def fail(raw: str, spec: dict[str, Any] | None = None) -> ParameterError:
    with pytest.raises(ParameterError) as exc:
        run(raw, spec)
    assert exc.value.status == 400
    assert exc.value.type == "invalid_request_error"
    assert exc.value.store_idempotent is False
    return exc.value


OK_CASES: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("name=Ada", {"name": "Ada"}),
    ("name=", {"name": None}),
    ("count=7", {"count": 7}),
    ("count=", {"count": None}),
    ("flag=true", {"flag": True}),
    ("flag=false", {"flag": False}),
    ("kind=b", {"kind": "b"}),
    ("amount=0.05", {"amount": Decimal("0.05")}),
    ("amount=12", {"amount": Decimal(12)}),
    ("when=now", {"when": "now"}),
    ("when=1713719565", {"when": 1713719565}),
    ("metadata[k]=v&metadata[d]=", {"metadata": {"k": "v", "d": None}}),
    ("metadata=", {"metadata": None}),
    ("metadata[0]=zero", {"metadata": {"0": "zero"}}),
    ("payload[value]=1", {"payload": {"value": "1"}}),
    ("recurring[interval]=month", {"recurring": {"interval": "month"}}),
    (
        "items[1][price]=b&items[0][price]=a&items[0][quantity]=2",
        {"items": [{"price": "a", "quantity": 2}, {"price": "b"}]},
    ),
    ("items[]=", {}),  # placeholder replaced below
    ("expand[]=customer&expand[]=data.x", {"expand": ["customer", "data.x"]}),
    ("expand[0]=customer", {"expand": ["customer"]}),
    ("items=", {"items": []}),
]
OK_CASES = [c for c in OK_CASES if c[0] != "items[]="]


@pytest.mark.parametrize(("raw", "expected"), OK_CASES)
def test_parse_ok(raw: str, expected: dict[str, Any]) -> None:
    assert run(raw) == expected


ERROR_CASES: list[tuple[str, str | None, str, str]] = [
    # raw, code, param, message
    ("nmae=x", "parameter_unknown", "nmae", "Received unknown parameter: nmae"),
    ("zz=1&aa=2", "parameter_unknown", "zz", "Received unknown parameters: zz, aa"),
    (
        "recurring[interval]=day&recurring[foo]=1",
        "parameter_unknown",
        "recurring[foo]",
        "Received unknown parameter: recurring[foo]",
    ),
    (
        "items[0][price]=p&items[0][bogus]=1",
        "parameter_unknown",
        "items[0][bogus]",
        "Received unknown parameter: items[0][bogus]",
    ),
    (
        "recurring[interval_count]=2",
        "parameter_missing",
        "recurring[interval]",
        "Missing required param: recurring[interval].",
    ),
    (
        "items[0][quantity]=2",
        "parameter_missing",
        "items[0][price]",
        "Missing required param: items[0][price].",
    ),
    ("count=55.00", "parameter_invalid_integer", "count", "Invalid integer: 55.00"),
    ("count=abc", "parameter_invalid_integer", "count", "Invalid integer: abc"),
    ("count=1e3", "parameter_invalid_integer", "count", "Invalid integer: 1e3"),
    (
        f"count={INT64_MAX + 1}",
        "parameter_invalid_integer",
        "count",
        f"Invalid integer: {INT64_MAX + 1}",
    ),
    ("when=tomorrow", "parameter_invalid_integer", "when", "Invalid integer: tomorrow"),
    ("count=0", None, "count", "Invalid count: must be greater than or equal to 1"),
    ("count=101", None, "count", "Invalid count: must be less than or equal to 100"),
    ("kind=d", None, "kind", "Invalid kind: must be one of a, b, or c"),
    (
        "recurring[interval]=year",
        None,
        "recurring[interval]",
        "Invalid recurring[interval]: must be one of day or month",
    ),
    ("flag=maybe", None, "flag", "Invalid boolean: maybe"),
    ("flag=1", None, "flag", "Invalid boolean: 1"),
    ("amount=1.234", None, "amount", "Invalid decimal: 1.234; must have at most 2 decimal places"),
    ("amount=abc", "parameter_invalid_decimal", "amount", "Invalid decimal: abc"),
    (
        "name=abcdefghijk",
        "parameter_invalid_string",
        "name",
        "Invalid string: abcdefghij...bcdefghijk; must be at most 10 characters",
    ),
    ("name[x]=1", None, "name", "Invalid string: name must be a string, not a hash."),
    ("count[x]=1", None, "count", "Invalid integer: count must be an integer, not a hash."),
    ("recurring=month", None, "recurring", "Invalid hash: recurring must be a hash."),
    ("items=abc", None, "items", "Invalid array: items must be an array."),
    ("items[x][price]=p", None, "items", "Invalid array: items must be an array."),
    (
        "items[0][price]=a&items[1][price]=b&items[2][price]=c&items[3][price]=d",
        None,
        "items",
        "Invalid array: items must have at most 3 elements.",
    ),
    ("metadata=abc", None, "metadata", "Invalid metadata: metadata must be a hash."),
    ("metadata[a][b]=1", None, "metadata[a]", "Invalid value for metadata[a]: must be a string."),
    ("expand=customer", None, "expand", "Invalid array: expand must be an array."),
]


@pytest.mark.parametrize(("raw", "code", "param", "message"), ERROR_CASES)
def test_parse_errors(raw: str, code: str | None, param: str, message: str) -> None:
    err = fail(raw)
    assert (err.code, err.param, err.message) == (code, param, message)


def test_unknown_is_checked_before_missing_and_types() -> None:
    err = fail("bogus=1&recurring[interval_count]=x")
    assert err.code == "parameter_unknown"
    err = fail("recurring[interval_count]=x")
    assert err.code == "parameter_missing"


def test_required_empty_string_is_invalid_empty() -> None:
    spec = {"name": Str(required=True, nullable=False)}
    err = fail("name=", spec)
    assert err.code == "parameter_invalid_empty"
    assert err.param == "name"
    assert err.message == (
        "You passed an empty string for 'name'. We assume empty values are an attempt to unset a "
        "parameter; however 'name' cannot be unset. You should remove 'name' from your request or "
        "supply a non-empty value."
    )
    assert fail("", spec).code == "parameter_missing"


def test_metadata_limits() -> None:
    # Stripe's texts: stripe-php#246 (key, value), FlowFuse/flowfuse#1948 (51 keys)
    long_key = fail("metadata[" + "k" * 41 + "]=v")
    assert (long_key.param, long_key.message) == (
        "metadata",
        "Invalid key: " + "k" * 41 + " must be a string under 40 characters",
    )
    long_value = fail("metadata[k]=" + "v" * 501)
    assert (long_value.param, long_value.message) == (
        "metadata",
        "Invalid val: " + "v" * 501 + " must be a string under 500 characters",
    )
    many = "&".join(f"metadata[k{i}]=v" for i in range(51))
    assert fail(many).message == (
        "Metadata can have up to 50 keys, but you've set 51. Email us at "
        "support+metadata@stripe.com for more information."
    )
    assert run("metadata[" + "k" * 40 + "]=" + "v" * 500)["metadata"]


def test_apply_metadata() -> None:
    assert apply_metadata({"a": "1", "b": "2"}, {"a": None, "c": "3"}) == {"b": "2", "c": "3"}
    assert apply_metadata({"a": "1"}, None) == {}
    full = {f"k{i}": "v" for i in range(50)}
    with pytest.raises(ParameterError) as exc:
        apply_metadata(full, {"one_more": "v"})
    assert exc.value.param == "metadata"


def test_one_of_text() -> None:
    assert one_of_text(("a",)) == "a"
    assert one_of_text(("a", "b")) == "a or b"
    assert one_of_text(("a", "b", "c")) == "a, b, or c"


def test_int_allow_inf() -> None:
    assert Int(allow_inf=True).coerce("inf", "up_to") is None
    with pytest.raises(ParameterError):
        Int().coerce("inf", "up_to")


@given(st.integers(min_value=-INT64_MAX, max_value=INT64_MAX))
def test_int_roundtrips_every_int64(n: int) -> None:
    assert Int().coerce(str(n), "n") == n


@given(st.integers(min_value=INT64_MAX + 1), st.booleans())
def test_int_rejects_beyond_int64(n: int, negative: bool) -> None:
    with pytest.raises(ParameterError) as exc:
        Int().coerce(str(-n if negative else n), "n")
    assert exc.value.code == "parameter_invalid_integer"


@given(st.text(max_size=20))
def test_bool_accepts_only_true_false(s: str) -> None:
    if s in ("true", "false", "True", "False"):
        assert Bool().coerce(s, "b") is (s.lower() == "true")
    elif s == "":
        assert Bool().coerce(s, "b") is None
    else:
        with pytest.raises(ParameterError):
            Bool().coerce(s, "b")
