"""stripe-mock-billing: a stateful, offline emulator of Stripe's usage-based billing API."""

__version__ = "0.2.0"
