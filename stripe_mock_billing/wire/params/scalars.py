"""Scalar parameter types: strings, enums, integers, timestamps, booleans and decimals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...errors import invalid_integer, invalid_value
from ...limits import MAX_TIMESTAMP, MIN_TIMESTAMP, parse_int
from ..form import Node
from .base import INT64_MAX, NOW, Param, _cut, _in_range, _scalar, one_of_text


@dataclass(slots=True, kw_only=True)
class Str(Param):
    """A string, at most `max_length` characters."""

    max_length: int = 5000

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "string")
        if s is None:
            return None
        if len(s) > self.max_length:
            # Stripe's frame, as captured for a 256-character value (2024): its first 10
            # characters, `...`, its last 10 (which 10 are shown is read off a uniform value)
            raise invalid_value(
                name,
                f"Invalid string: {s[:10]}...{s[-10:]}; must be at most {self.max_length} "
                "characters",
                code="parameter_invalid_string",
            )
        return s


@dataclass(slots=True, kw_only=True)
class Enum(Param):
    """One of fixed string values."""

    values: tuple[str, ...] = ()

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "string")
        if s is None:
            return None
        if s not in self.values:
            raise invalid_value(name, f"Invalid {name}: must be one of {one_of_text(self.values)}")
        return s


@dataclass(slots=True, kw_only=True)
class Int(Param):
    """A base-10 integer (int64), optionally bounded."""

    min: int | None = None
    max: int | None = None
    allow_inf: bool = False  # `up_to=inf` in tiers -> None

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "integer")
        if s is None:
            return None
        if self.allow_inf and s == "inf":
            return None
        n = parse_int(s)  # never int(s): 4,300+ digits raise, and the work is quadratic
        if n is None or abs(n) > INT64_MAX:
            raise invalid_integer(name, _cut(s))
        return _in_range(name, n, self.min, self.max)


@dataclass(slots=True, kw_only=True)
class Timestamp(Int):
    """A Unix timestamp; `now` allowed when `allow_now` (returned as the string 'now').

    Always within 1970-01-01 .. 2999-12-31 (limits.py): billing period math works in years
    1..9999, so a timestamp outside would fail later, inside an engine step."""

    allow_now: bool = True
    extra_literals: tuple[str, ...] = ()

    def coerce(self, value: Node, name: str) -> Any:
        if isinstance(value, str) and (
            (self.allow_now and value == NOW) or value in self.extra_literals
        ):
            return value
        n = Int.coerce(self, value, name)
        if n is not None and not MIN_TIMESTAMP <= n <= MAX_TIMESTAMP:
            raise invalid_value(
                name,
                f"Invalid timestamp: {name} must be a Unix timestamp between {MIN_TIMESTAMP} "
                f"and {MAX_TIMESTAMP}.",
                code="parameter_invalid_integer",
            )
        return n


@dataclass(slots=True, kw_only=True)
class Bool(Param):
    """`true` / `false`."""

    def coerce(self, value: Node, name: str) -> Any:
        s = _scalar(value, name, "boolean")
        if s == "" and self.nullable and not self.required:
            return None
        # v1 also takes `True`/`False`: stripe-python 11.x form-encodes Python booleans that way
        # (stripe/stripe-python#1499: only v2 insists on lowercase)
        if s in ("true", "True"):
            return True
        if s in ("false", "False"):
            return False
        raise invalid_value(name, f"Invalid boolean: {s}")


_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(slots=True, kw_only=True)
class DecimalStr(Param):
    """A decimal string with at most `places` fractional digits, returned as Decimal."""

    places: int = 12
    min: Decimal | None = None
    max: Decimal | None = None

    def coerce(self, value: Node, name: str) -> Any:
        s = self.text(value, name, "decimal")
        if s is None:
            return None
        if not _DECIMAL_RE.fullmatch(s) or len(s) > 40:
            raise invalid_value(name, f"Invalid decimal: {s}", code="parameter_invalid_decimal")
        d = Decimal(s)  # exact: Decimal reads every string the pattern admits
        if "." in s and len(s.split(".", 1)[1]) > self.places:
            raise invalid_value(
                name, f"Invalid decimal: {s}; must have at most {self.places} decimal places"
            )
        return _in_range(name, d, self.min, self.max)
