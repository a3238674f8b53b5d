"""Parameter specs (wire/params/), pinned where the mutation review of the package found them
untested: both sides of each limit (the echo of an invalid integer, an array's index and length,
a string's length, int64, a decimal's length, 50 metadata keys after an update), the names an
error gives two levels deep, `""` where it unsets and where it is refused, and the shape errors
of booleans, decimals, enums and string maps. Limits come from Stripe's OpenAPI and docs (`limit`
1..100, `name` <= 256, up to 8 `images`, 50 metadata keys of 40 / 500 characters); the
emulator's own from docs/reference/limits.md and wire-format.md. Where a capture of Stripe's
text contradicts the emulator's (metadata limits, a too-long string's echo, a hash where a scalar
belongs), only what both share is checked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe

from stripe_mock_billing.server import ThreadedServer
from tests.api.billing_helpers import err_tuple, licensed_price
from tests.api.test_bad_input import assert_envelope, send

INT64_MAX = "9223372036854775807"  # 2**63 - 1


def _error(r: Any) -> tuple[object, ...]:
    """(HTTP status, type, code, param, message) of a raw error response."""
    e = assert_envelope(r)
    return (r.status_code, e["type"], e.get("code"), e.get("param"), e["message"])


def _invalid(param: str, message: str, code: str | None = None) -> tuple[object, ...]:
    return (400, "invalid_request_error", code, param, message)


# --- base.py: the echo of an invalid integer, ranges --------------------------------------------


def test_an_invalid_integer_is_echoed_whole_up_to_100_characters(
    server: ThreadedServer, api_key: str
) -> None:
    """Past 40 digits a value is no integer; its echo keeps 100 characters, then `...`."""
    r = send(server, api_key, "GET", "/v1/customers?limit=" + "9" * 100)
    assert _error(r) == _invalid(
        "limit", "Invalid integer: " + "9" * 100, "parameter_invalid_integer"
    )
    r = send(server, api_key, "GET", "/v1/customers?limit=" + "9" * 101)
    assert _error(r) == _invalid(
        "limit", "Invalid integer: " + "9" * 100 + "...", "parameter_invalid_integer"
    )


# --- nested.py: metadata -----------------------------------------------------------------------
# Stripe's limits (50 keys, keys <= 40 and values <= 500 characters) are documented; its texts
# are not (wire-format.md §2.4), and the captures found (`Metadata can have up to 50 keys, but
# you've set 51. ...`; `Invalid key: <key> must be a string under 40 characters`) differ from the
# emulator's, so these tests check the status, type, code, param and what every version of the
# text says (the limit), not the wording.


def _keys(n: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i}": "v" for i in range(n)}


def _over_limit(exc: pytest.ExceptionInfo[stripe.StripeError], param: str, limit: str) -> None:
    status, type_, code, got_param, message = err_tuple(exc)
    assert (status, type_, code, got_param) == (400, "invalid_request_error", None, param)
    assert isinstance(message, str) and limit in message


def test_metadata_holds_50_keys_and_refuses_51(client: stripe.StripeClient) -> None:
    """50 keys on a create are kept; 51 are a 400 naming `metadata`."""
    cus = client.v1.customers.create({"metadata": _keys(50)})
    assert len(cus.metadata.to_dict()) == 50
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"metadata": _keys(51)})
    _over_limit(exc, "metadata", "50")
    # Stripe's text (FlowFuse/flowfuse#1948)
    assert err_tuple(exc)[4] == (
        "Metadata can have up to 50 keys, but you've set 51. Email us at "
        "support+metadata@stripe.com for more information."
    )
    assert [c.id for c in client.v1.customers.list({"limit": 10}).data] == [cus.id]


def test_an_update_may_fill_metadata_to_50_keys_but_not_51(client: stripe.StripeClient) -> None:
    """The limit holds for the merged result: 49 kept + 1 new = 50 is fine, one more is not,
    and the refused update changes nothing."""
    cus = client.v1.customers.create({"metadata": _keys(49)})
    full = client.v1.customers.update(cus.id, {"metadata": {"k49": "v"}})
    assert full.metadata.to_dict() == _keys(50)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(cus.id, {"metadata": {"one_more": "v"}})
    _over_limit(exc, "metadata", "50")
    assert "but you've set 51." in str(err_tuple(exc)[4])
    assert client.v1.customers.retrieve(cus.id).metadata.to_dict() == _keys(50)


def test_unsetting_a_metadata_key_that_is_not_there_changes_nothing(
    client: stripe.StripeClient,
) -> None:
    """`metadata[gone]=` deletes `gone` (wire-format §2.3); when there is no such key the
    update succeeds and the other keys stay."""
    cus = client.v1.customers.create({"metadata": {"a": "1"}})
    after = client.v1.customers.update(cus.id, {"metadata": {"gone": ""}})
    assert after.metadata.to_dict() == {"a": "1"}


def test_metadata_key_and_value_lengths(client: stripe.StripeClient) -> None:
    """Keys up to 40 characters and values up to 500 are kept; one more is a 400. A long key
    names `metadata` (as in Stripe's captures) and the key; a long value names its limit."""
    ok = client.v1.customers.create({"metadata": {"k" * 40: "v" * 500}})
    assert ok.metadata.to_dict() == {"k" * 40: "v" * 500}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"metadata": {"k" * 41: "v"}})
    _over_limit(exc, "metadata", "40")
    assert "k" * 41 in str(err_tuple(exc)[4])
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"metadata": {"note": "v" * 501}})
    status, type_, code, _, message = err_tuple(exc)
    assert (status, type_, code) == (400, "invalid_request_error", None)
    assert isinstance(message, str) and "500" in message


# --- nested.py: hashes two levels deep ---------------------------------------------------------


def test_an_unknown_parameter_two_levels_deep_is_named_in_full(
    client: stripe.StripeClient, cus: str
) -> None:
    """`items[0][billing_thresholds][bogus]`: the whole bracket path (wire-format §7: `param`
    is the bracket form), not the last key nor a path with a level left out."""
    price = licensed_price(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request(
            "post",
            "/v1/subscriptions",
            customer=cus,
            items=[{"price": price.id, "billing_thresholds": {"bogus": 1}}],
        )
    name = "items[0][billing_thresholds][bogus]"
    assert err_tuple(exc) == _invalid(
        name, f"Received unknown parameter: {name}", "parameter_unknown"
    )
    assert client.v1.subscriptions.list({"customer": cus}).data == []


def test_a_missing_parameter_two_levels_deep_is_named_in_full(
    client: stripe.StripeClient, cus: str
) -> None:
    """A credit grant's `amount[monetary]` without its required `currency`: `parameter_missing`
    for `amount[monetary][currency]` (Stripe's nested form: `recurring[interval]`)."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.credit_grants.create(
            {
                "customer": cus,
                "category": "paid",
                "amount": {"type": "monetary", "monetary": {"value": 100}},  # type: ignore[typeddict-item]
                "applicability_config": {"scope": {"price_type": "metered"}},
            }
        )
    name = "amount[monetary][currency]"
    assert err_tuple(exc) == _invalid(name, f"Missing required param: {name}.", "parameter_missing")


# --- nested.py: arrays -------------------------------------------------------------------------


def test_an_array_index_has_at_most_6_digits(server: ThreadedServer, api_key: str) -> None:
    """Indices may be sparse (wire-format §2.2): `images[999999]` is the product's one image;
    a 7-digit index is not an array index."""
    r = send(server, api_key, "POST", "/v1/products", "name=p&images[999999]=https://x.test/a.png")
    assert r.status_code == 200, r.text
    assert r.json()["images"] == ["https://x.test/a.png"]
    r = send(server, api_key, "POST", "/v1/products", "name=p&images[1000000]=https://x.test/a.png")
    assert _error(r) == _invalid("images", "Invalid array: images must be an array.")


def test_a_product_takes_up_to_8_images(client: stripe.StripeClient) -> None:
    """Stripe: "A list of up to 8 URLs". Eight are kept; nine are a 400."""
    urls = [f"https://x.test/{i}.png" for i in range(9)]
    assert client.v1.products.create({"name": "p", "images": urls[:8]}).images == urls[:8]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.products.create({"name": "p", "images": urls})
    assert err_tuple(exc) == _invalid(
        "images", "Invalid array: images must have at most 8 elements."
    )


def test_an_error_in_an_array_element_names_the_element(
    client: stripe.StripeClient, cus: str
) -> None:
    price = licensed_price(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request(
            "post",
            "/v1/subscriptions",
            customer=cus,
            items=[{"price": price.id, "quantity": "two"}],
        )
    assert err_tuple(exc) == _invalid(
        "items[0][quantity]", "Invalid integer: two", "parameter_invalid_integer"
    )


def test_enabled_events_cannot_be_unset_on_update(client: stripe.StripeClient) -> None:
    """Stripe's update takes an array (no `""`): `enabled_events=` is `parameter_invalid_empty`
    and the endpoint keeps its events."""
    we = client.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/hook", "enabled_events": ["invoice.paid"]}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.raw_request("post", f"/v1/webhook_endpoints/{we.id}", enabled_events="")
    assert err_tuple(exc) == _invalid(
        "enabled_events",
        "You passed an empty string for 'enabled_events'. We assume empty values are an attempt "
        "to unset a parameter; however 'enabled_events' cannot be unset. You should remove "
        "'enabled_events' from your request or supply a non-empty value.",
        "parameter_invalid_empty",
    )
    assert client.v1.webhook_endpoints.retrieve(we.id).enabled_events == ["invoice.paid"]


# --- nested.py: hashes and string maps ----------------------------------------------------------


def test_an_empty_billing_thresholds_removes_them(acacia: stripe.StripeClient, cus: str) -> None:
    """Stripe: "When updating, pass an empty string to remove previously-defined thresholds"."""
    price = licensed_price(acacia)
    sub = acacia.v1.subscriptions.create(
        {
            "customer": cus,
            "items": [{"price": price.id}],
            "billing_thresholds": {"amount_gte": 100_000},
        }
    )
    assert sub.billing_thresholds.amount_gte == 100_000
    after = acacia.v1.subscriptions.update(sub.id, {"billing_thresholds": ""})
    assert after.billing_thresholds is None


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ("payload=abc", "payload", "Invalid hash: payload must be a hash."),
        ("payload=", "payload", "Invalid hash: payload must be a hash."),
        (
            "payload[value][x]=1",
            "payload[value]",
            "Invalid value for payload[value]: must be a string.",
        ),
    ],
)
def test_a_meter_event_payload_is_a_hash_of_strings(
    server: ThreadedServer, api_key: str, body: str, param: str, message: str
) -> None:
    r = send(server, api_key, "POST", "/v1/billing/meter_events", f"event_name=api&{body}")
    assert _error(r) == _invalid(param, message)


# --- scalars.py --------------------------------------------------------------------------------
# A hash sent where a scalar belongs: Stripe's text for it echoes the hash (a capture:
# `Invalid string: {"number"=>...}`), the emulator's names the parameter; both begin with
# `Invalid <type>: `, which is what these check, with the param.


@pytest.mark.parametrize(
    ("path", "body", "param", "prefix"),
    [
        ("/v1/products", "name=p&active[x]=true", "active", "Invalid boolean: "),
        (
            "/v1/prices",
            "currency=usd&product_data[name]=p&unit_amount_decimal[x]=1",
            "unit_amount_decimal",
            "Invalid decimal: ",
        ),
        (
            "/v1/prices",
            "currency=usd&product_data[name]=p&unit_amount=1&billing_scheme[x]=tiered",
            "billing_scheme",
            "Invalid string: ",
        ),
    ],
)
def test_a_hash_where_a_scalar_belongs(
    server: ThreadedServer, api_key: str, path: str, body: str, param: str, prefix: str
) -> None:
    status, type_, code, got_param, message = _error(send(server, api_key, "POST", path, body))
    assert (status, type_, code, got_param) == (400, "invalid_request_error", None, param)
    assert isinstance(message, str) and message.startswith(prefix), message


def test_integers_reach_int64_max(client: stripe.StripeClient) -> None:
    """Integers are int64: 2**63 - 1 is a balance, 2**63 is not an integer."""
    cus = client.v1.customers.create({"balance": int(INT64_MAX)})
    assert cus.balance == int(INT64_MAX)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"balance": int(INT64_MAX) + 1})
    assert err_tuple(exc) == _invalid(
        "balance", "Invalid integer: 9223372036854775808", "parameter_invalid_integer"
    )


def test_a_customer_name_has_at_most_256_characters(client: stripe.StripeClient) -> None:
    """Stripe's OpenAPI: `name` maxLength 256. The text's frame is Stripe's (a capture:
    `Invalid string: nnnnnnnnnn...nnnnnnnnnn; must be at most 30 characters`): the value's first
    10 characters, `...` and its last 10."""
    name = "abcdefghijklmnopqrstuvwxyz" * 10  # 260 characters
    assert client.v1.customers.create({"name": name[:256]}).name == name[:256]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create({"name": name[:257]})
    status, type_, _, param, message = err_tuple(exc)
    assert (status, type_, param) == (400, "invalid_request_error", "name")
    assert isinstance(message, str)
    assert message == "Invalid string: abcdefghij...nopqrstuvw; must be at most 256 characters"
    assert client.v1.customers.list({"limit": 10}).data[0].name == name[:256]


def _price_decimal(client: stripe.StripeClient, unit_amount_decimal: str) -> Any:
    """A one-time price created with `unit_amount_decimal` sent as is."""
    resp = client.raw_request(
        "post",
        "/v1/prices",
        currency="usd",
        product_data={"name": "p"},
        unit_amount_decimal=unit_amount_decimal,
    )
    return client.deserialize(resp, api_mode="V1")


def test_a_decimal_has_at_most_40_characters(client: stripe.StripeClient) -> None:
    """Leading zeros count: 40 characters are read (as 1.5), 41 are not a decimal."""
    forty = "0" * 37 + "1.5"
    assert _price_decimal(client, forty).unit_amount_decimal == Decimal("1.5")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _price_decimal(client, "0" + forty)
    assert err_tuple(exc) == _invalid(
        "unit_amount_decimal", f"Invalid decimal: 0{forty}", "parameter_invalid_decimal"
    )


def test_a_price_unit_amount_decimal_is_not_negative(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _price_decimal(client, "-1")
    assert err_tuple(exc) == _invalid(
        "unit_amount_decimal", "Invalid unit_amount_decimal: must be greater than or equal to 0"
    )


def test_a_list_limit_ranges_from_1_to_100(client: stripe.StripeClient) -> None:
    """Stripe's docs: "Limit can range between 1 and 100". Both ends are accepted, one past
    either end is a 400 naming `limit`."""
    for i in range(2):
        client.v1.customers.create({"name": f"c{i}"})
    assert len(client.v1.customers.list({"limit": 1}).data) == 1
    assert len(client.v1.customers.list({"limit": 100}).data) == 2
    for limit, text in ((0, "greater than or equal to 1"), (101, "less than or equal to 100")):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            client.v1.customers.list({"limit": limit})
        status, type_, code, param, message = err_tuple(exc)
        assert (status, type_, code, param) == (400, "invalid_request_error", None, "limit")
        assert message == f"Invalid limit: must be {text}"


def test_an_empty_string_for_a_parameter_that_cannot_be_unset(client: stripe.StripeClient) -> None:
    """An alert's customer filter is optional but cannot be unset: `""` is Stripe's
    `parameter_invalid_empty`, not an absent filter."""
    m = client.v1.billing.meters.create(
        {"display_name": "x", "event_name": "e", "default_aggregation": {"formula": "sum"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.billing.alerts.create(
            {
                "alert_type": "usage_threshold",
                "title": "t",
                "usage_threshold": {
                    "gte": 10,
                    "meter": m.id,
                    "recurrence": "one_time",
                    "filters": [{"type": "customer", "customer": ""}],
                },
            }
        )
    name = "usage_threshold[filters][0][customer]"
    status, type_, code, param, message = err_tuple(exc)
    assert (status, type_, code, param) == (
        400,
        "invalid_request_error",
        "parameter_invalid_empty",
        name,
    )
    assert message == (
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from "
        "your request or supply a non-empty value."
    )
    assert client.v1.billing.alerts.list().data == []
