"""PaymentMethods (cards only) and Stripe's test payment method ids.

Stripe's test ids (`pm_card_visa`, `pm_card_chargeCustomerFail`, `tok_visa`, ...) are not
objects: using one where a PaymentMethod is expected makes a new `pm_...` with the card's
details (docs.stripe.com/testing). Each test id names a card and how it behaves:

- `attach`: the decline raised when the card is attached (the `*chargeDeclined*` family cannot
  be attached: 402 `card_error`), or None;
- `charge`: the decline of every charge on it (`pm_card_chargeCustomerFail`: attaches, every
  charge fails), or None.

A decline is (code, decline_code, message, param). Messages are the ones Stripe's docs and
SDK examples quote; the per-code texts are (unverified). The `pm_card_*` aliases of the
`tok_*ChargeCustomerFail*` tokens and the `pm_card_chargeDeclined*` family without `visa_` are
accepted as the spec's §12 lists them (unverified for the aliases).
LIMITATIONS: cards only (no bank debits, wallets or 3-D Secure `requires_action` cards); no
`POST /v1/payment_methods` with raw card numbers (test ids and `card[token]` only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ..errors import CardError, ResourceMissing
from ..shapes import RenderContext
from ..store import Namespace

# decline_code values Stripe never retries (smart-retries docs)
HARD_DECLINES: Final = frozenset(
    {
        "incorrect_number",
        "lost_card",
        "pickup_card",
        "stolen_card",
        "revocation_of_authorization",
        "revocation_of_all_authorizations",
        "authentication_required",
        "highest_risk_level",
    }
)


@dataclass(frozen=True, slots=True)
class Decline:
    """How a card fails: Stripe's `code`, `decline_code`, message and `param`."""

    code: str
    decline_code: str | None
    message: str
    param: str | None = None

    @property
    def hard(self) -> bool:
        """A decline Stripe never retries automatically."""
        return (self.decline_code or self.code) in HARD_DECLINES

    def error(self, **extra: Any) -> CardError:
        """The 402 `card_error` of this decline (`extra`: e.g. `payment_method`)."""
        return CardError(
            self.message,
            code=self.code,
            decline_code=self.decline_code,
            param=self.param,
            extra=extra,
        )


DECLINED = "Your card was declined."
GENERIC = Decline("card_declined", "generic_decline", DECLINED)
INSUFFICIENT = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
LOST = Decline("card_declined", "lost_card", DECLINED)
STOLEN = Decline("card_declined", "stolen_card", DECLINED)
EXPIRED = Decline("expired_card", "expired_card", "Your card has expired.", "exp_month")
CVC = Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc")
PROCESSING = Decline(
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)
VELOCITY = Decline(
    "card_declined",
    "card_velocity_exceeded",
    "Your card was declined for making repeated attempts too frequently or exceeding its "
    "amount limit.",
)
# a charge without any payment method (Stripe: "no payment method" is never retried)
NO_PAYMENT_METHOD = Decline(
    "invoice_payment_intent_requires_action",
    None,
    "This customer has no attached payment source or default payment method. Please consider "
    "adding a default payment method.",
)


@dataclass(frozen=True, slots=True)
class TestCard:
    """A test card: brand, last4, funding, country, and its attach / charge declines."""

    brand: str
    last4: str
    attach: Decline | None = None
    charge: Decline | None = None
    funding: str = "credit"
    country: str = "US"


VISA = TestCard("visa", "4242")
CUSTOMER_FAIL = TestCard("visa", "0341", charge=GENERIC)


def _declined(last4: str, decline: Decline) -> TestCard:
    return TestCard("visa", last4, attach=decline, charge=decline)


TEST_CARDS: Final[dict[str, TestCard]] = {
    "visa": VISA,
    "visa_debit": TestCard("visa", "5556", funding="debit"),
    "mastercard": TestCard("mastercard", "4444"),
    "mastercard_debit": TestCard("mastercard", "8210", funding="debit"),
    "amex": TestCard("amex", "8431"),
    "discover": TestCard("discover", "1117"),
    "chargeCustomerFail": CUSTOMER_FAIL,
    "visa_chargeCustomerFail": CUSTOMER_FAIL,
    "visa_chargeCustomerFailLostCard": TestCard("visa", "9987", charge=LOST),
    "visa_chargeCustomerFailStolenCard": TestCard("visa", "9979", charge=STOLEN),
    "visa_chargeDeclined": _declined("0002", GENERIC),
    "visa_chargeDeclinedInsufficientFunds": _declined("9995", INSUFFICIENT),
    "visa_chargeDeclinedLostCard": _declined("9987", LOST),
    "visa_chargeDeclinedStolenCard": _declined("9979", STOLEN),
    "visa_chargeDeclinedVelocityLimitExceeded": _declined("6975", VELOCITY),
    "chargeDeclined": _declined("0002", GENERIC),
    "chargeDeclinedInsufficientFunds": _declined("9995", INSUFFICIENT),
    "chargeDeclinedLostCard": _declined("9987", LOST),
    "chargeDeclinedStolenCard": _declined("9979", STOLEN),
    "chargeDeclinedExpiredCard": _declined("0069", EXPIRED),
    "chargeDeclinedIncorrectCvc": _declined("0127", CVC),
    "chargeDeclinedProcessingError": _declined("0119", PROCESSING),
    "chargeDeclinedVelocityLimitExceeded": _declined("6975", VELOCITY),
}


def test_card(pm_id: str) -> TestCard | None:
    """The test card a test id (`pm_card_<name>` or `tok_<name>`) stands for, else None."""
    if pm_id.startswith("pm_card_"):
        return TEST_CARDS.get(pm_id[len("pm_card_") :])
    if pm_id.startswith("tok_"):
        return TEST_CARDS.get(pm_id[len("tok_") :])
    return None


@dataclass(slots=True, kw_only=True)
class PaymentMethod:
    """A card PaymentMethod; `source` is the test id it was made from."""

    id: str
    created: int
    source: str
    brand: str
    last4: str
    funding: str
    country: str
    exp_month: int
    exp_year: int
    customer: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    billing_name: str | None = None
    billing_email: str | None = None

    @property
    def card(self) -> TestCard:
        """The test card behind this payment method."""
        return test_card(self.source) or VISA

    def render(self, ctx: RenderContext) -> dict[str, Any]:
        """Wire shape of a card payment method."""
        return {
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": self.billing_email,
                "name": self.billing_name,
                "phone": None,
                "tax_id": None,
            },
            "card": {
                "brand": self.brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": self.country,
                "display_brand": self.brand,
                "exp_month": self.exp_month,
                "exp_year": self.exp_year,
                "fingerprint": f"fp{self.source[-14:]}",
                "funding": self.funding,
                "generated_from": None,
                "last4": self.last4,
                "networks": {"available": [self.brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": self.created,
            "customer": self.customer,
            "livemode": False,
            "metadata": dict(self.metadata),
            "type": "card",
        }


def get_payment_method(
    ns: Namespace, pm_id: str, *, param: str = "payment_method", in_path: bool = True
) -> PaymentMethod:
    """A stored payment method or Stripe's `No such PaymentMethod`."""
    pm = ns.payment_methods.get(pm_id)
    if pm is None:
        raise ResourceMissing("PaymentMethod", pm_id, param=param, in_path=in_path)
    return pm
