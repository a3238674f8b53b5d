"""The pytest plugin, exercised with pytester: fixtures, modes, marker, errors, xdist."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from stripe_mock_billing.server import ThreadedServer
from tests.plugin.journal_check import check_journals

USAGE_TESTS = """
    import pytest
    import stripe

    def test_client_and_journal(stripe_mock, stripe_client):
        cus = stripe_client.v1.customers.create({"name": "Ada"})
        (entry,) = stripe_mock.journal("POST", "/v1/customers")
        assert entry.params == {"name": "Ada"} and entry.response["id"] == cus.id
        assert stripe_mock.api_key.startswith("sk_test_")

    def test_every_base_address_points_at_the_emulator(stripe_client):
        session = stripe_client.v2.billing.meter_event_session.create()
        assert session.authentication_token

    def test_each_test_has_its_own_account(stripe_client):
        assert stripe_client.v1.customers.list().data == []
        stripe_client.v1.customers.create({})

    def test_no_retries(stripe_mock, stripe_client):
        stripe_mock.fail_next("api_error", path="/v1/customers")
        with pytest.raises(stripe.APIError):
            stripe_client.v1.customers.list()
        assert len(stripe_mock.journal()) == 1

    @pytest.mark.stripe_mock(rate_limit=7, clock_offset=-60)
    def test_marker_sets_account_settings(stripe_mock):
        assert stripe_mock.settings["rate_limit"] == 7
        assert stripe_mock.settings["clock_offset"] == -60

    def test_settings_default_again(stripe_mock):
        assert stripe_mock.settings["rate_limit"] == 0

    def test_reset(stripe_mock, stripe_client):
        stripe_client.v1.customers.create({})
        stripe_mock.reset()
        assert stripe_client.v1.customers.list().data == []

    def test_snapshot_roundtrip(stripe_mock, stripe_client):
        stripe_client.v1.products.create({"name": "p"})
        snap = stripe_mock.export_state()
        stripe_mock.reset()
        stripe_mock.import_state(snap)
        assert [p.name for p in stripe_client.v1.products.list().data] == ["p"]

    def test_test_clock_helper(stripe_test_clock):
        tc = stripe_test_clock(frozen_time=1700000000, name="Clocked")
        assert tc.customer.test_clock == tc.clock.id and tc.customer.name == "Clocked"
        tc.advance(by=40 * 86400)
        assert tc.now == 1700000000 + 40 * 86400 and tc.clock.status == "ready"

    @pytest.mark.anyio
    async def test_async_client(stripe_client):
        cus = await stripe_client.v1.customers.create_async({"name": "A"})
        assert (await stripe_client.v1.customers.retrieve_async(cus.id)).name == "A"

    @pytest.fixture
    def anyio_backend():
        return "asyncio"
"""
N_USAGE = 10


@pytest.fixture
def usage_tests(pytester: pytest.Pytester) -> pytest.Pytester:
    check_journals(pytester)
    pytester.makepyfile(test_usage=textwrap.dedent(USAGE_TESTS))
    return pytester


def test_plugin_import_is_cheap() -> None:
    code = (
        "import sys, stripe_mock_billing.pytest_plugin\n"
        "heavy = ('flask', 'werkzeug', 'stripe', 'responses', 'httpx', 'requests')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_inprocess_is_the_default(usage_tests: pytest.Pytester) -> None:
    result = usage_tests.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)


def test_server_mode_by_option(usage_tests: pytest.Pytester) -> None:
    result = usage_tests.runpytest("--stripe-mock-mode=server", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)
    result.stdout.fnmatch_lines(["stripe-mock-billing: server"])


def test_server_mode_by_ini(usage_tests: pytest.Pytester) -> None:
    usage_tests.makeini("[pytest]\nstripe_mock_mode = server\n")
    result = usage_tests.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)
    result.stdout.fnmatch_lines(["stripe-mock-billing: server"])


def test_external_mode_by_env_url(
    usage_tests: pytest.Pytester, server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_MOCK_BILLING_URL", server.url)
    result = usage_tests.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)
    result.stdout.fnmatch_lines([f"stripe-mock-billing: external at {server.url}"])


def test_option_beats_env(
    usage_tests: pytest.Pytester, server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_MOCK_BILLING_MODE", "server")
    result = usage_tests.runpytest("--stripe-mock-mode=inprocess", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)
    assert "stripe-mock-billing: server" not in result.stdout.str()


def test_unknown_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(stripe_mock):\n    pass\n")
    result = pytester.runpytest("--stripe-mock-mode=docker", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown mode 'docker'; choose one of inprocess, server, external"]
    )


def test_external_mode_needs_a_url(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_MOCK_BILLING_URL", raising=False)
    pytester.makepyfile("def test_x(stripe_mock):\n    pass\n")
    result = pytester.runpytest("--stripe-mock-mode=external", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*external mode needs STRIPE_MOCK_BILLING_URL*"])


def test_external_mode_with_nothing_listening(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(stripe_mock):\n    pass\n")
    result = pytester.runpytest(
        "--stripe-mock-mode=external",
        "--stripe-mock-url=http://127.0.0.1:9",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no emulator answering at http://127.0.0.1:9*"])


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.stripe_mock(**account_settings)*"])


def test_fixture_names_do_not_clash_with_project_fixtures(pytester: pytest.Pytester) -> None:
    check_journals(
        pytester,
        """
        import pytest

        @pytest.fixture
        def client():
            return "the project's own client"

        @pytest.fixture
        def server():
            return "the project's own server"
        """,
    )
    pytester.makepyfile(
        """
        def test_both(client, server, stripe_client):
            assert client == "the project's own client" and server == "the project's own server"
            assert stripe_client.v1.customers.create({}).id.startswith("cus_")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_app_settings_fixture_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from stripe_mock_billing.config import Settings

        @pytest.fixture(scope="session")
        def stripe_mock_app_settings():
            return Settings(api_version="2025-02-24.acacia", propagate_exceptions=True)
        """
    )
    pytester.makepyfile(
        """
        def test_default_version(stripe_mock):
            assert stripe_mock.settings["api_version"] == "2025-02-24.acacia"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_accounts_are_forgotten_after_each_test(pytester: pytest.Pytester, mode: str) -> None:
    check_journals(pytester)
    pytester.makepyfile(
        """
        from stripe_mock_billing.handle import StripeMock
        from tests.conftest import journal_problems

        KEYS = []

        def test_one(stripe_mock, stripe_client):
            stripe_client.v1.customers.create({})
            stripe_mock.update_settings(rate_limit=7)
            KEYS.append(stripe_mock.api_key)
            assert len(stripe_client.v1.customers.list().data) == 1

        def test_two(stripe_mock):
            # the first test's account, seen through the control API and the API
            old = StripeMock(stripe_mock.url, KEYS[0], stripe_mock.mode, stripe_mock.app)
            assert old.settings["rate_limit"] == 0
            assert old.client().v1.customers.list().data == []
            assert not journal_problems(old)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", f"--stripe-mock-mode={mode}").assert_outcomes(
        passed=2
    )


CRASH_TEST = """
    import pytest
    import stripe
    from stripe_mock_billing.resources import customers

    def boom(self, ctx):
        raise ZeroDivisionError("emulator bug")

    def test_crash(stripe_client, monkeypatch):
        monkeypatch.setattr(customers.Customer, "render", boom)
        try:
            stripe_client.v1.customers.create({})
        except stripe.APIError:
            pass  # server mode: the SDK sees the 500
"""


def test_emulator_crash_fails_the_test_inprocess(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CRASH_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*EmulatorCrash*", "*ZeroDivisionError: emulator bug*"])


def test_emulator_crash_fails_the_test_in_server_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CRASH_TEST)
    result = pytester.runpytest("--stripe-mock-mode=server", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*stripe-mock-billing raised ZeroDivisionError: emulator bug*"])


def test_inprocess_is_safe_under_xdist(usage_tests: pytest.Pytester) -> None:
    result = usage_tests.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=N_USAGE)


def test_external_mode_under_xdist_shares_one_server(
    usage_tests: pytest.Pytester, server: ThreadedServer
) -> None:
    result = usage_tests.runpytest_subprocess(
        "-n",
        "2",
        "--stripe-mock-mode=external",
        f"--stripe-mock-url={server.url}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=N_USAGE)


def test_listing_the_plugin_in_a_conftest_does_not_register_it_twice(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["stripe_mock_billing.pytest_plugin"]\n')
    pytester.makepyfile(
        "def test_x(stripe_client):\n    assert stripe_client.v1.customers.create({}).id\n"
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(stripe_client):\n    pass\n")
    result = pytester.runpytest(
        "-p", "no:stripe_mock_billing.pytest_plugin", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'stripe_client' not found*"])
