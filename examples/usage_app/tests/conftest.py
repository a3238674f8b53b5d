"""Not part of the example: in this repository the example suite also checks every response the
test's emulator account received (the service's own client, the plugin's `stripe_client`, the
acacia client) against Stripe's OpenAPI, from the account's journal at the end of each test
(tests/conftest.py `journal_problems`). A copy of the example outside the repository has no
`tests/conftest.py` beside it and skips this check."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
IN_REPOSITORY = (ROOT / "tests" / "conftest.py").is_file()
if IN_REPOSITORY and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _responses_match_the_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    if not IN_REPOSITORY or "stripe_mock" not in request.fixturenames:
        yield
        return
    from tests.conftest import journal_problems

    mock: Any = request.getfixturevalue("stripe_mock")  # set up first, so torn down after this
    yield
    problems = journal_problems(mock)
    assert not problems, "responses violate the OpenAPI schema:\n" + "\n".join(problems[:20])
