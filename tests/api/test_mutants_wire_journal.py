"""The request journal (`GET /_mock/journal`) as docs/reference/control-api.md describes it,
pinned where the mutation review of wire/journal.py found it untested: which parameters an
entry shows (a GET's query string, a DELETE's body, a v2 GET's query), the method and glob
filters, the entry's wire shape and `seq`, and its caps on both sides of their edges: 256 KiB
(262,144 bytes) per request and per response, 1,000 entries and 8 MiB (8,388,608 bytes) per
account, each entry counted as its query string, request body and response body plus 400
bytes."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import stripe

from stripe_mock_billing.handle import StripeMock
from stripe_mock_billing.server import ThreadedServer
from tests.api.conftest import raw_http
from tests.conftest import validated

KIB_256 = 262_144  # a body or response over this is kept as null
MIB_8 = 8_388_608  # the bytes one account's journal holds
ENTRY = 400  # what each entry counts besides its bytes
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


class Account:
    """Raw calls of one account (each response checked against Stripe's OpenAPI), and what
    the journal counts for them by its documented rule."""

    def __init__(self, server: ThreadedServer, key: str) -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.counted = 0

    def send(self, method: str, path: str, body: str = "") -> requests.Response:
        """Send `body` (a form) as it is, and add what the journal counts for the entry."""
        resp = validated(
            self.session.request(method, self.url + path, data=body, headers=FORM, timeout=60)
        )
        request = len(urlsplit(path).query) + len(body)
        response = len(resp.content)
        self.counted += (request if request <= KIB_256 else 0) + ENTRY
        self.counted += response if response <= KIB_256 else 0
        return resp


def _unknown(size: int) -> str:
    """A form body of exactly `size` bytes (at least 7) with two parameters Stripe does not
    know, each at most 131,072 characters: answered 400 `parameter_unknown`, whose body does
    not depend on their values."""
    first = min(131_072, size - 7)
    return "z1=" + "a" * first + "&z2=" + "b" * (size - 7 - first)


def _metadata(lengths: list[int]) -> str:
    """A form of 50 metadata keys of 40 characters with values of these lengths (Stripe's
    maxima: 50 keys, 40-character keys, 500-character values)."""
    pairs = {f"metadata[k{i:02d}{'x' * 37}]": "v" * n for i, n in enumerate(lengths)}
    return urlencode(pairs)


def _big_customers(acct: Account) -> list[str]:
    """Ten customers with the most metadata Stripe allows (about 28 KB each)."""
    return [
        acct.send("POST", "/v1/customers", _metadata([500] * 50)).json()["id"] for _ in range(10)
    ]


def _fit(acct: Account, cus: str, path: str, size: int) -> list[int]:
    """Cut the metadata values of `cus` so that `path` answers exactly `size` bytes (one GET
    of `path` first, to measure): the values' new lengths."""
    cut = len(acct.send("GET", path).content) - size
    assert 0 < cut <= 50 * 499
    lengths = [500 - min(499, max(0, cut - 499 * i)) for i in range(50)]
    acct.send("POST", f"/v1/customers/{cus}", _metadata(lengths))
    return lengths


def _fill(acct: Account, to: int) -> None:
    """Requests of 400s of one size until the account has counted exactly `to` bytes."""
    reply = len(acct.send("POST", "/v1/customers", _unknown(KIB_256)).content)
    full = KIB_256 + reply + ENTRY
    while to - acct.counted >= 2 * full:
        assert len(acct.send("POST", "/v1/customers", _unknown(KIB_256)).content) == reply
    half = (to - acct.counted) // 2
    for size in (half, to - acct.counted - half):
        assert (
            len(acct.send("POST", "/v1/customers", _unknown(size - reply - ENTRY)).content) == reply
        )
    assert acct.counted == to


# --- what an entry's params are -----------------------------------------------------------------


def test_a_get_journals_its_query_string_as_params(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    client.v1.customers.list({"limit": 3, "email": "ada@example.com"})
    client.v2.core.event_destinations.list({"limit": 2})
    v1, v2 = mock.journal(method="GET")
    assert (v1.path, v1.params) == ("/v1/customers", {"limit": "3", "email": "ada@example.com"})
    assert (v2.path, v2.params) == ("/v2/core/event_destinations", {"limit": "2"})


def test_a_v1_delete_journals_its_form_body_and_only_it(
    server: ThreadedServer, client: stripe.StripeClient, mock: StripeMock, api_key: str
) -> None:
    """The SDK sends a DELETE without a body; `curl -X DELETE -d` sends one, which counts."""
    a = client.v1.customers.create({})
    client.v1.customers.delete(a.id)
    b = client.v1.customers.create({})
    validated(
        requests.delete(
            f"{server.url}/v1/customers/{b.id}",
            data="foo=bar",
            headers={"Authorization": f"Bearer {api_key}", **FORM},
            timeout=10,
        )
    )
    sdk, curl = mock.journal(method="DELETE")
    assert (sdk.path, sdk.params) == (f"/v1/customers/{a.id}", {})
    assert (curl.path, curl.params) == (f"/v1/customers/{b.id}", {"foo": "bar"})


def test_a_v2_get_or_delete_journals_its_query_not_a_body_sent_with_it(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    """v2 takes a GET's and a DELETE's parameters from the query string: a JSON body sent with
    them is ignored, by the emulator and by the journal alike."""
    auth = {"Authorization": f"Bearer {api_key}", **JSON}
    url = f"{server.url}/v2/core/event_destinations"
    # not validated: the v2 event destination routes are no operations of the OpenAPI spec
    listed = requests.get(url + "?limit=2", data='{"limit": 5}', headers=auth, timeout=10)
    assert listed.json()["data"] == []
    # not validated: as above
    requests.delete(url + "/ed_missing", data='{"x": 1}', headers=auth, timeout=10)
    got, deleted = mock.journal(path="/v2/*")
    assert (got.method, got.params) == ("GET", {"limit": "2"})
    assert (deleted.method, deleted.status, deleted.params) == ("DELETE", 404, {})


def test_an_options_request_is_journaled_with_its_empty_answer(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    # not validated: OPTIONS is not in Stripe's OpenAPI, and its answer has no body
    resp = raw_http(server, "OPTIONS", "/v1/customers", api_key)
    (entry,) = mock.journal()
    assert (entry.method, entry.path, entry.status) == ("OPTIONS", "/v1/customers", 200)
    assert resp.status_code == 200 and resp.content == b""
    assert entry.response is None and entry.response_truncated is False


# --- which account a request belongs to -------------------------------------------------------


def _stream_session(client: stripe.StripeClient) -> tuple[str, str]:
    """(a meter event session token, a stream body of one event of a fresh customer)."""
    client.v1.billing.meters.create(
        {"display_name": "T", "event_name": "t", "default_aggregation": {"formula": "sum"}}
    )
    cus = client.v1.customers.create({})
    token = client.v2.billing.meter_event_session.create().authentication_token
    event = {"event_name": "t", "payload": {"stripe_customer_id": cus.id, "value": "1"}}
    return token, json.dumps({"events": [event]})


def test_stream_requests_are_the_tokens_account_however_the_token_is_sent(
    server: ThreadedServer, client: stripe.StripeClient, mock: StripeMock
) -> None:
    """The stream takes its session token as Bearer or as Basic's user, as API keys are:
    requests sent either way are journaled, and faults reach them (fixed: a Basic request
    was served but neither journaled nor reached by faults)."""
    token, body = _stream_session(client)
    basic = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
    url = f"{server.url}/v2/billing/meter_event_stream"
    statuses = []
    mock.fail_next("rate_limit", path="/v2/billing/meter_event_stream")
    for auth in (basic, basic, f"Bearer  {token}"):
        # not validated: the v2 meter event stream is no operation of the OpenAPI spec
        resp = requests.post(url, data=body, headers={"Authorization": auth, **JSON}, timeout=10)
        statuses.append(resp.status_code)
    assert statuses == [429, 200, 200]
    sent = mock.journal(path="/v2/billing/meter_event_stream")
    assert [(e.status, e.fault) for e in sent] == [(429, "rate_limit"), (200, None), (200, None)]


def test_a_v1_request_with_a_session_token_is_a_401_outside_the_journal(
    server: ThreadedServer, client: stripe.StripeClient, mock: StripeMock
) -> None:
    """A session token authenticates the v2 stream only: a v1 request sent with it fails
    before an account is known."""
    token, _ = _stream_session(client)
    resp = validated(
        requests.get(
            f"{server.url}/v1/customers", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert resp.json()["error"]["message"].startswith("Invalid API Key provided: ")
    assert [e.path for e in mock.journal(method="GET")] == []


# --- filters, shape, seq ------------------------------------------------------------------------


def test_the_method_filter_is_case_insensitive_and_star_is_any(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    client.v1.customers.create({})
    client.v1.customers.list()
    assert [e.method for e in mock.journal(method="POST")] == ["POST"]
    assert [e.method for e in mock.journal(method="get")] == ["GET"]
    assert [e.method for e in mock.journal(method="*")] == ["POST", "GET"]


def test_a_path_glob_may_use_star_question_mark_and_brackets(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    cus = client.v1.customers.create({})
    client.v1.customers.retrieve(cus.id)
    assert [e.path for e in mock.journal(path="/v1/[c]ustomers/cu?_*")] == [
        f"/v1/customers/{cus.id}"
    ]
    assert mock.journal(path="/v1/[d]ustomers/cu?_*") == []


def test_an_entry_on_the_wire(
    server: ThreadedServer, client: stripe.StripeClient, api_key: str
) -> None:
    client.v1.customers.create({"name": "Ada"})
    body = raw_http(server, "GET", "/_mock/journal", api_key).json()
    assert (body["object"], body["url"], body["has_more"]) == ("list", "/_mock/journal", False)
    (entry,) = body["data"]
    assert entry["object"] == "_mock.journal_entry"
    assert set(entry) == {
        "object",
        "seq",
        "time",
        "method",
        "path",
        "params",
        "idempotency_key",
        "status",
        "response",
        "request_id",
        "api_version",
        "replayed",
        "fault",
        "params_truncated",
        "response_truncated",
    }
    assert (entry["params"], entry["params_truncated"]) == ({"name": "Ada"}, False)


def test_seq_counts_the_accounts_requests_from_1_across_a_clear(
    client: stripe.StripeClient, mock: StripeMock
) -> None:
    client.v1.customers.create({})
    client.v1.customers.list()
    assert [e.seq for e in mock.journal()] == [1, 2]
    mock.clear_journal()
    client.v1.customers.list()
    assert [(e.seq, e.method) for e in mock.journal()] == [(3, "GET")]


# --- 256 KiB per request and per response -------------------------------------------------------


def test_a_request_over_256_kib_keeps_its_entry_without_params(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    """The query string and the body together: 262,144 bytes are kept, one more is not."""
    acct = Account(server, api_key)
    query = "/v1/customers?q=" + "c" * 998  # a 1,000-byte query string
    acct.send("POST", "/v1/customers", _unknown(KIB_256))
    acct.send("POST", "/v1/customers", _unknown(KIB_256 + 1))
    acct.send("POST", query, _unknown(KIB_256 - 1000))
    acct.send("POST", query, _unknown(KIB_256 - 1000 + 1))
    entries = mock.journal()
    assert [(e.status, e.params_truncated) for e in entries] == [
        (400, False),
        (400, True),
        (400, False),
        (400, True),
    ]
    assert [e.params is None for e in entries] == [False, True, False, True]
    kept, _, with_query, _ = entries
    assert kept.params == {"z1": "a" * 131_072, "z2": "b" * 131_065}
    assert with_query.params == {"q": "c" * 998, "z1": "a" * 131_072, "z2": "b" * 130_065}
    assert all(e.response["error"]["code"] == "parameter_unknown" for e in entries)


def test_a_response_over_256_kib_keeps_its_entry_without_response(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    """A list of ten customers answering exactly 262,144 bytes is kept; one byte more is not."""
    acct = Account(server, api_key)
    ids = _big_customers(acct)
    path = "/v1/customers?limit=10"
    lengths = _fit(acct, ids[0], path, KIB_256)
    exact = acct.send("GET", path)
    lengths[0] += 1
    acct.send("POST", f"/v1/customers/{ids[0]}", _metadata(lengths))
    over = acct.send("GET", path)
    assert (len(exact.content), len(over.content)) == (KIB_256, KIB_256 + 1)
    measured, kept, dropped = mock.journal(method="GET")
    assert [e.response_truncated for e in (measured, kept, dropped)] == [True, False, True]
    assert kept.response == exact.json()
    assert (measured.response, dropped.response) == (None, None)
    assert (dropped.status, dropped.params) == (200, {"limit": "10"})


# --- 1,000 entries and 8 MiB per account --------------------------------------------------------


def test_the_journal_keeps_1000_entries(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    acct = Account(server, api_key)
    acct.send("GET", "/v1/customers")
    for _ in range(999):
        acct.send("GET", "/v1/products?limit=1")
    assert [e.seq for e in mock.journal(path="/v1/customers")] == [1]
    acct.send("GET", "/v1/products?limit=1")
    assert mock.journal(path="/v1/customers") == []
    assert len(mock.journal()) == 1000


def test_the_journal_keeps_8_mib_counting_400_bytes_an_entry(
    server: ThreadedServer, mock: StripeMock, api_key: str
) -> None:
    """Entries of every kind (a query string, a request and a response kept as null) adding
    up to exactly 8 MiB are all kept; past it the oldest go, as many as it takes; after a
    clear the count starts again from nothing."""
    acct = Account(server, api_key)
    acct.send("GET", "/v1/products?limit=1")
    acct.send("GET", "/v1/products?limit=2")
    acct.send("POST", "/v1/products", _unknown(KIB_256 + 1))  # its params kept as null
    _big_customers(acct)
    acct.send("GET", "/v1/customers?limit=10")  # its response kept as null
    _fill(acct, MIB_8)

    def products() -> list[Any]:
        return [e.params for e in mock.journal(path="/v1/products")]

    assert products() == [{"limit": "1"}, {"limit": "2"}, None]
    acct.send("GET", "/v1/products?limit=3")  # as big as the oldest: it alone goes
    assert products() == [{"limit": "2"}, None, {"limit": "3"}]
    acct.send("GET", "/v1/products?limit=04")  # one byte bigger: the next two go
    assert products() == [{"limit": "3"}, {"limit": "04"}]
    mock.clear_journal()
    acct.counted = 0
    acct.send("GET", "/v1/products?limit=5")
    _fill(acct, MIB_8)
    assert products() == [{"limit": "5"}]
