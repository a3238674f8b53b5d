"""Payment methods of customers and the outcome of a charge.

Attaching a test id (`pm_card_visa`, `tok_chargeCustomerFail`, ...) makes a new `pm_...` card of
the customer (domain/payment_methods.py); the `*chargeDeclined*` family fails at attach with its
402 `card_error`. Where a parameter names a payment method for a customer
(`invoice_settings.default_payment_method`, a subscription's `default_payment_method`, `pay`'s
`payment_method`), a test id is attached first (as Stripe does with test ids in test mode:
(unverified) for the customer and subscription defaults) and a real id must be attached to that
customer.

A charge uses the first of: the payment method given to `pay`, the subscription's
`default_payment_method`, the customer's `invoice_settings.default_payment_method` (sources are
not emulated). It is declined by the card's behaviour, or by the emulator extension
`_mock_payment=fail` in the customer's metadata (a generic decline, kept for tests written
before payment methods existed). With no payment method at all it succeeds unless the account
setting `charge_without_payment_method` is off (emulator convenience: Stripe cannot charge
without one).
LIMITATIONS: no Charge, PaymentIntent or SetupIntent objects (an invoice's `payment_intent` /
`payments` stay null / absent); no 3-D Secure (`requires_action`) cards; no sources.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import ids
from ..domain.events import emit
from ..domain.payment_methods import (
    GENERIC,
    NO_PAYMENT_METHOD,
    Decline,
    PaymentMethod,
    get_payment_method,
    test_card,
)
from ..errors import InvalidRequest, ResourceMissing

if TYPE_CHECKING:
    from ..domain.customers import Customer
    from ..domain.invoices import Invoice
    from ..store import Namespace

EXP_YEARS_AHEAD = 3  # test cards expire in December, three calendar years on (any later date works)


def is_test_id(pm_id: str) -> bool:
    """Whether `pm_id` is one of Stripe's test payment method ids or tokens."""
    return test_card(pm_id) is not None


def create_from_test_id(ns: Namespace, test_id: str, now: int, *, param: str) -> PaymentMethod:
    """A new, unattached card PaymentMethod for a test id (`pm_card_*` / `tok_*`)."""
    card = test_card(test_id)
    if card is None:
        raise ResourceMissing("PaymentMethod", test_id, param=param, in_path=False)
    year = time.gmtime(now).tm_year + EXP_YEARS_AHEAD  # the UTC calendar year, not a mean year
    pm = PaymentMethod(
        id=ids.new_id("payment_method"),
        created=now,
        source=test_id,
        brand=card.brand,
        last4=card.last4,
        funding=card.funding,
        country=card.country,
        exp_month=12,
        exp_year=year,
    )
    ns.payment_methods[pm.id] = pm
    return pm


def check_attachable(test_id: str) -> None:
    """Raise the attach-time decline of a test id (before anything is written)."""
    card = test_card(test_id)
    if card is not None and card.attach is not None:
        raise card.attach.error()


def attach(ns: Namespace, pm_id: str, cust: Customer, now: int, *, param: str) -> PaymentMethod:
    """Attach a payment method (or a new one made from a test id) to `cust`."""
    if is_test_id(pm_id):
        check_attachable(pm_id)
        pm = create_from_test_id(ns, pm_id, now, param=param)
    else:
        pm = get_payment_method(ns, pm_id, param=param, in_path=param == "payment_method")
        if pm.customer == cust.id:
            return pm
        if pm.customer is not None:
            # (unverified text)
            raise InvalidRequest(
                "The payment method you provided has already been attached to a customer.",
                code="payment_method_unexpected_state",
                param=param,
            )
        if pm.card.attach is not None:
            raise pm.card.attach.error()
    pm.customer = cust.id
    emit(ns, "payment_method.attached", pm, created=now)
    return pm


def detach(ns: Namespace, pm: PaymentMethod, now: int) -> None:
    """Detach from its customer; defaults that named it are cleared (unverified for
    subscriptions)."""
    if pm.customer is None:
        raise InvalidRequest(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
        )
    cust = ns.customers.get(pm.customer)
    if cust is not None and cust.default_payment_method == pm.id:
        cust.default_payment_method = None
    for sub in ns.subscriptions.values():
        if sub.customer == pm.customer and sub.default_payment_method == pm.id:
            sub.default_payment_method = None
    pm.customer = None
    emit(
        ns,
        "payment_method.detached",
        pm,
        created=now,
        previous={"customer": cust.id if cust else None},
    )


def for_customer(ns: Namespace, cust: Customer, pm_id: str, now: int, *, param: str) -> str:
    """The id to store where a parameter names `cust`'s payment method: test ids are attached
    first; other ids must already be attached to `cust`."""
    if is_test_id(pm_id):
        return attach(ns, pm_id, cust, now, param=param).id
    pm = ns.payment_methods.get(pm_id)
    if pm is None:
        raise ResourceMissing("PaymentMethod", pm_id, param=param, in_path=False)
    if pm.customer != cust.id:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param=param,
        )
    return pm.id


def payment_method_of(ns: Namespace, inv: Invoice) -> str | None:
    """The payment method an automatic charge of `inv` uses: the invoice's, the subscription's,
    then the customer's default."""
    if inv.default_payment_method:
        return inv.default_payment_method
    sub = ns.subscriptions.get(inv.subscription) if inv.subscription else None
    if sub is not None and sub.default_payment_method:
        pm: str | None = sub.default_payment_method
        return pm
    cust = ns.customers.get(inv.customer)
    return cust.default_payment_method if cust is not None else None


def decline_of(ns: Namespace, inv: Invoice, pm_id: str | None) -> Decline | None:
    """How a charge of `inv` on `pm_id` fails (None: it succeeds)."""
    cust = ns.customers.get(inv.customer)
    if cust is not None and cust.metadata.get("_mock_payment") == "fail":
        return GENERIC
    if pm_id is None:
        return None if ns.settings.charge_without_payment_method else NO_PAYMENT_METHOD
    pm = ns.payment_methods.get(pm_id)
    card = pm.card if pm is not None else test_card(pm_id)
    return card.charge if card is not None else None


def preview_decline(ns: Namespace, cust: Customer, sub_pm: str | None) -> Decline | None:
    """How a charge would fail before anything is written (`error_if_incomplete`): on the
    subscription's payment method `sub_pm` (possibly a test id), else the customer's default."""
    if cust.metadata.get("_mock_payment") == "fail":
        return GENERIC
    pm_id = sub_pm or cust.default_payment_method
    if pm_id is None:
        return None if ns.settings.charge_without_payment_method else NO_PAYMENT_METHOD
    pm = ns.payment_methods.get(pm_id)
    card = pm.card if pm is not None else test_card(pm_id)
    return card.charge if card is not None else None
