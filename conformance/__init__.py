"""Conformance suite: Stripe's usage-billing flows run by the official SDKs (stripe-python 11.6.1
and 16.1.0, stripe-node 17.7.0 and 23.x) against the emulator or any target, with every response
validated against Stripe's OpenAPI schema (`openapi_check.py`). Entry point: `python -m
conformance` (cli.py); see README "Conformance suite"."""
