"""Customers through the official SDK: CRUD, metadata, lists, expand, errors, isolation."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import err_of, make_client


def test_create_retrieve_roundtrip(client: stripe.StripeClient) -> None:
    c = client.v1.customers.create(
        {"name": "Ada", "email": "ada@example.com", "metadata": {"k": "v"}}
    )
    assert c.id.startswith("cus_")
    assert c.object == "customer"
    assert c.livemode is False
    got = client.v1.customers.retrieve(c.id)
    assert (got.name, got.email, got.metadata.to_dict()) == ("Ada", "ada@example.com", {"k": "v"})


def test_integer_keyed_metadata_stays_a_map(client: stripe.StripeClient) -> None:
    c = client.v1.customers.create({"metadata": {"0": "zero", "1": "one"}})
    assert c.metadata.to_dict() == {"0": "zero", "1": "one"}


def test_update_unsets_metadata_key_and_field(client: stripe.StripeClient) -> None:
    c = client.v1.customers.create(
        {"name": "Bob", "description": "d", "metadata": {"a": "1", "b": "2"}}
    )
    u = client.v1.customers.update(c.id, {"metadata": {"a": ""}, "description": ""})
    assert u.metadata.to_dict() == {"b": "2"}
    assert u.description is None
    u = client.v1.customers.update(c.id, {"metadata": ""})
    assert u.metadata.to_dict() == {}


def test_delete_then_retrieve_gives_deleted_stub(client: stripe.StripeClient) -> None:
    c = client.v1.customers.create({})
    d = client.v1.customers.delete(c.id)
    assert d.deleted is True and d.id == c.id
    again = client.v1.customers.retrieve(c.id)
    assert again.to_dict()["deleted"] is True


def test_unknown_customer_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_nope")
    assert exc.value.http_status == 404
    e = err_of(exc)
    assert e["type"] == "invalid_request_error"
    assert e["code"] == "resource_missing"
    assert e["param"] == "id"
    assert e["message"] == "No such customer: 'cus_nope'"
    assert e["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing"


def test_unknown_parameter(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"nmae": "typo"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert exc.value.http_status == 400
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_unknown",
        "nmae",
        "Received unknown parameter: nmae",
    )


def test_several_unknown_parameters_plural_form(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"amount": "1", "currency": "usd"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert e["message"] == "Received unknown parameters: amount, currency"
    assert e["param"] == "amount"


def test_test_clock_not_updatable(client: stripe.StripeClient) -> None:
    c = client.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(c.id, {"test_clock": "clock_x"})  # type: ignore[typeddict-unknown-key]
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("parameter_unknown", "test_clock")
    assert e["message"] == "Received unknown parameter: test_clock"


def test_list_newest_first_and_pagination(client: stripe.StripeClient) -> None:
    made = [client.v1.customers.create({"name": f"c{i}"}).id for i in range(5)]
    page1 = client.v1.customers.list({"limit": 2})
    assert [c.id for c in page1.data] == made[::-1][:2]
    assert page1.has_more is True
    assert page1.url == "/v1/customers"
    page2 = client.v1.customers.list({"limit": 2, "starting_after": page1.data[-1].id})
    assert [c.id for c in page2.data] == made[::-1][2:4]
    back = client.v1.customers.list({"limit": 2, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == made[::-1][:2]
    assert [c.id for c in client.v1.customers.list({"limit": 2}).auto_paging_iter()] == made[::-1]


def test_list_limit_bounds(client: stripe.StripeClient) -> None:
    for bad, text in ((0, "greater than or equal to 1"), (101, "less than or equal to 100")):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.customers.list({"limit": bad})
        e = err_of(exc)
        assert exc.value.http_status == 400
        assert e["param"] == "limit"
        assert text in e["message"]


def test_list_limit_not_integer(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("get", "/v1/customers", limit="abc")
    e = err_of(exc)
    assert (e["code"], e["param"], e["message"]) == (
        "parameter_invalid_integer",
        "limit",
        "Invalid integer: abc",
    )


def test_starting_after_unknown_id(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list({"starting_after": "cus_gone"})
    e = err_of(exc)
    assert (e["code"], e["param"]) == ("resource_missing", "starting_after")
    assert exc.value.http_status == 400


def test_accounts_are_isolated_by_key(
    client: stripe.StripeClient, server, schema_violations: list[str]
) -> None:
    c = client.v1.customers.create({"name": "mine"})
    other = make_client(server.url, "sk_test_other_" + c.id, schema_violations)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        other.v1.customers.retrieve(c.id)
    assert exc.value.http_status == 404
    assert all(x.id != c.id for x in other.v1.customers.list().data)


def test_email_filter(client: stripe.StripeClient) -> None:
    client.v1.customers.create({"email": "a@x.io"})
    b = client.v1.customers.create({"email": "b@x.io"})
    got = client.v1.customers.list({"email": "b@x.io"})
    assert [c.id for c in got.data] == [b.id]
