"""Usage alerts: `/v1/billing/alerts` create, retrieve, list, activate, deactivate, archive.

Emulated (shared/spec/billing-alerts.md §0-§2): the paths exist from `2024-09-30.acacia`
(older versions get `Unrecognized request URL`); `alert_type=usage_threshold` with
`usage_threshold[gte|meter|recurrence|filters]` (one `customer` filter at most); no update and
no delete (`usage_threshold` is immutable). Lists show active and inactive alerts, newest
first. Evaluation and `billing.alert.triggered`: billing/alerts.py.

Choices where Stripe is unverified (messages ours):
- a new alert is `active`; activate of an active / deactivate of an inactive alert is a no-op;
  every status call on an archived alert is a 400 (archive is irreversible);
- `usage_threshold` is required with `alert_type=usage_threshold` (`parameter_missing`);
- the meter must exist (400 `resource_missing`) and be active (400 on `usage_threshold[meter]`);
  a filtered customer must exist (400 `resource_missing`);
- a second filter is a 400 on `usage_threshold[filters]`;
- the 26th alert (active or inactive) for one meter and customer (or one meter and no customer
  filter) is a 400; `gte` is at least 1.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .. import clock, ids
from ..billing import alerts as engine_alerts
from ..domain import versions
from ..domain.alerts import MAX_PER_METER_CUSTOMER, NOUN, Alert, get_alert
from ..domain.customers import get_customer
from ..errors import InvalidRequest, ResourceMissing, UnrecognizedURL, invalid_value, missing_param
from ..wire import pipeline as p
from ..wire.params import LIST_PARAMS, Enum, Int, List, Obj, Str
from ..wire.render import render_list, render_one

alerts = Blueprint("alerts", __name__)

FILTER = Obj(
    fields={
        "type": Enum(required=True, nullable=False, values=("customer",)),
        "customer": Str(nullable=False),
    }
)
CREATE = {
    "alert_type": Enum(required=True, nullable=False, values=("usage_threshold",)),
    "title": Str(required=True, nullable=False, max_length=256),
    "usage_threshold": Obj(
        nullable=False,
        fields={
            "gte": Int(required=True, nullable=False, min=1),
            "meter": Str(required=True, nullable=False),
            "recurrence": Enum(required=True, nullable=False, values=("one_time",)),
            "filters": List(item=FILTER, nullable=False),
        },
    ),
}
LIST = {
    **LIST_PARAMS,
    "alert_type": Enum(nullable=False, values=("usage_threshold",)),
    "meter": Str(nullable=False),
}
TH = "usage_threshold"


def _exists_in_version() -> None:
    """The Alerts API does not exist before `2024-09-30.acacia`."""
    if not versions.has_alerts(p.api_version()):
        raise UnrecognizedURL(p.method(), p.path())


p.gate(alerts, _exists_in_version)


def _customer_filter(ns: Any, filters: list[dict[str, Any]] | None) -> str | None:
    if not filters:
        return None
    if len(filters) > 1:
        raise invalid_value(
            f"{TH}[filters]", f"{TH}[filters] can contain at most one filter (received 2 or more)."
        )
    cid = filters[0].get("customer")
    if cid is None:
        raise missing_param(f"{TH}[filters][0][customer]")
    return get_customer(ns, cid, param=f"{TH}[filters][0][customer]", in_path=False).id


@alerts.post("/v1/billing/alerts")
def create_alert() -> Response:
    """Create a usage alert on a meter."""
    ns = p.ns()
    prm = p.params(CREATE)
    th = prm.get(TH)
    if th is None:
        raise missing_param(TH)
    mid = th["meter"]
    meter = ns.meters.get(mid)
    if meter is None:
        raise ResourceMissing("meter", mid, param=f"{TH}[meter]", in_path=False)
    if meter.status != "active":
        raise invalid_value(
            f"{TH}[meter]",
            f"The meter {mid} is inactive: alerts can only be created on active meters.",
        )
    customer = _customer_filter(ns, th.get("filters"))
    same = sum(
        1
        for a in ns.alerts.values()
        if a.meter == mid and a.customer == customer and a.status != "archived"
    )
    if same >= MAX_PER_METER_CUSTOMER:
        who = f"customer {customer}" if customer else "all customers"
        raise InvalidRequest(
            f"You can have at most {MAX_PER_METER_CUSTOMER} alerts for meter {mid} and {who}.",
            param=TH,
        )
    alert = Alert(
        id=ids.new_id("billing.alert"),
        title=prm["title"],
        meter=mid,
        gte=th["gte"],
        customer=customer,
        created=clock.wall_now(ns),
    )
    ns.alerts[alert.id] = alert
    engine_alerts.changed(ns)
    return render_one(alert, p.ctx(), prm.get("expand"))


@alerts.get("/v1/billing/alerts/<aid>")
def retrieve_alert(aid: str) -> Response:
    """Retrieve an alert."""
    alert = get_alert(p.ns(), aid)
    prm = p.params({})
    return render_one(alert, p.ctx(), prm.get("expand"))


@alerts.get("/v1/billing/alerts")
def list_alerts() -> Response:
    """Active and inactive alerts, newest first, by `alert_type` and `meter`."""
    prm = p.params(LIST)
    mid = prm.get("meter")
    objs = [
        a
        for a in reversed(p.ns().alerts.values())
        if a.status != "archived" and (mid is None or a.meter == mid)
    ]
    return render_list(objs, prm, p.ctx(), url="/v1/billing/alerts", noun=NOUN)


def _set_status(aid: str, status: str) -> Response:
    ns = p.ns()
    alert = get_alert(ns, aid)
    prm = p.params({})
    if alert.status == "archived":
        raise InvalidRequest(f"The alert {aid} is archived; archived alerts cannot be changed.")
    if alert.status != status:
        alert.status = status
        engine_alerts.changed(ns)
    return render_one(alert, p.ctx(), prm.get("expand"))


@alerts.post("/v1/billing/alerts/<aid>/activate")
def activate_alert(aid: str) -> Response:
    """Make an inactive alert able to trigger."""
    return _set_status(aid, "active")


@alerts.post("/v1/billing/alerts/<aid>/deactivate")
def deactivate_alert(aid: str) -> Response:
    """Stop an alert from triggering (it can be activated again)."""
    return _set_status(aid, "inactive")


@alerts.post("/v1/billing/alerts/<aid>/archive")
def archive_alert(aid: str) -> Response:
    """Archive an alert for good: it never triggers and leaves list views."""
    return _set_status(aid, "archived")
