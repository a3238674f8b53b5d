"""Scenario modules, in table order. Importing this package registers every scenario."""

from importlib import import_module

MODULES = (
    "core",
    "subscriptions",
    "usage_records",
    "clocks",
    "usage_changes",
    "meters",
    "meter_billing",
    "events",
    "lifecycle",
    "invoice_money",
    "webhooks",
    "dunning",
    "credits_alerts",
    "emulator",
)

for _name in MODULES:
    import_module(f"{__name__}.{_name}")
