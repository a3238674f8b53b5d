"""The base of every parameter type (`Param`) and what the types share: joining nested names,
Stripe's `a, b, or c` enum text, range errors, the scalar check, echoing a cut value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from ...errors import invalid_empty, invalid_value
from ..form import Node

INT64_MAX = 2**63 - 1
NOW = "now"


def _join(parent: str, key: str) -> str:
    return f"{parent}[{key}]" if parent else key


def one_of_text(values: tuple[str, ...]) -> str:
    """`a, b, or c` as in Stripe's enum messages."""
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"


@dataclass(slots=True, kw_only=True)
class Param:
    """Base of all parameter types."""

    required: bool = False
    nullable: bool = True  # whether "" unsets it (else "" is parameter_invalid_empty)

    def coerce(self, value: Node, name: str) -> Any:
        """Turn the decoded value into its Python form, or raise a ParameterError."""
        raise NotImplementedError

    def text(self, value: Node, name: str, what: str) -> str | None:
        """The scalar string sent, or None when an empty string unsets this parameter."""
        s = _scalar(value, name, what)
        if s == "":
            if self.nullable and not self.required:
                return None
            raise invalid_empty(name)
        return s

    def unknown(self, value: Node, name: str) -> list[str]:
        """Names of unknown nested parameters under this one."""
        return []

    def missing(self, value: Node, name: str) -> str | None:
        """Name of the first missing required nested parameter under this one."""
        return None


_N = TypeVar("_N", int, Decimal)


def _in_range(name: str, n: _N, lo: _N | None, hi: _N | None) -> _N:
    """`n` when within [lo, hi], else Stripe's range error."""
    if lo is not None and n < lo:
        raise invalid_value(name, f"Invalid {name}: must be greater than or equal to {lo}")
    if hi is not None and n > hi:
        raise invalid_value(name, f"Invalid {name}: must be less than or equal to {hi}")
    return n


def _scalar(value: Node, name: str, what: str) -> str:
    if not isinstance(value, str):
        article = "an" if what[0] in "aeiou" else "a"
        raise invalid_value(name, f"Invalid {what}: {name} must be {article} {what}, not a hash.")
    return value


def _cut(text: str) -> str:
    """A value as echoed in an error message (an absurd one is cut)."""
    return text if len(text) <= 100 else text[:100] + "..."
