"""Scenario modules, in table order. Importing this package registers every scenario."""

from . import (  # noqa: F401
    core,
    subscriptions,
    usage_records,
)


def load() -> None:
    """Nothing to do: importing the package registered the scenarios."""
