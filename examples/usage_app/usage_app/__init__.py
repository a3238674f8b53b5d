"""A small token-metering service that bills LLM usage through Stripe (example for the emulator)."""

from .billing import Config, InvoiceOutcome, UsageReporter

__all__ = ["Config", "InvoiceOutcome", "UsageReporter"]
