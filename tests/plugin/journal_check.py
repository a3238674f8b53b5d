"""A conftest for the pytester sessions of the plugin tests: every response the inner test's
account received (through the plugin's `stripe_client`, async or sync, or any other client) is
checked against Stripe's OpenAPI from the account's journal when the test ends, before the
plugin forgets the account. A violation errors the inner test. Counted in this session's total
(the inner sessions run in this process and share its schema gate; those run in a subprocess,
under xdist, check as strictly but count on their own)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
JOURNAL_CHECK = f"""
import sys
import pytest

if {ROOT!r} not in sys.path:  # a session in a subprocess (xdist) imports tests/ from here
    sys.path.insert(0, {ROOT!r})
from tests.conftest import journal_problems

@pytest.fixture(autouse=True)
def _responses_match_the_schema(request):
    if "stripe_mock" not in request.fixturenames:
        yield
        return
    mock = request.getfixturevalue("stripe_mock")  # set up first, so torn down after this
    yield
    problems = journal_problems(mock)
    assert not problems, "responses violate the OpenAPI schema: " + "; ".join(problems[:5])
"""


def check_journals(pytester: pytest.Pytester, conftest: str = "") -> None:
    """Give the pytester session the journal check (plus the test's own `conftest` text)."""
    pytester.makeconftest(textwrap.dedent(JOURNAL_CHECK) + textwrap.dedent(conftest))
