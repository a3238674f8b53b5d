"""Conformance tooling: checks the emulator's wire output against Stripe's OpenAPI specs."""
