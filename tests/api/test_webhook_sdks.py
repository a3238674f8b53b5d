"""Deliveries verified by the other official SDKs of the conformance suite: stripe-python
11.6.1 (`Webhook.construct_event`, `parse_thin_event`) and stripe-node 17 / 23
(`webhooks.constructEvent`, `parseThinEvent` / `parseEventNotification`). Their environments
are the conformance suite's (`python -m conformance setup`); a missing one skips with a reason."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import stripe

from tests.api.meter_helpers import day0, make_meter, send
from tests.api.webhook_helpers import endpoint, receiver

ENVS = Path(__file__).resolve().parents[2] / "conformance" / ".envs"

PY = """
import json, sys, stripe
d = json.load(sys.stdin)
if d["thin"]:
    ev = stripe.StripeClient("sk_test_x").parse_thin_event(d["body"], d["sig"], d["secret"])
    print(json.dumps({"id": ev.id, "type": ev.type}))
else:
    ev = stripe.Webhook.construct_event(d["body"], d["sig"], d["secret"])
    print(json.dumps({"id": ev.id, "type": ev.type}))
try:
    stripe.Webhook.construct_event(d["body"], d["sig"], "whsec_wrong")
except stripe.error.SignatureVerificationError:
    print("rejected")
"""

NODE = """
const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
const Stripe = require(process.argv[1] + "/node_modules/stripe");
const stripe = new Stripe("sk_test_x");
let ev;
if (d.thin) {
  ev = stripe.parseEventNotification
    ? stripe.parseEventNotification(d.body, d.sig, d.secret)
    : stripe.parseThinEvent(d.body, d.sig, d.secret);
} else {
  ev = stripe.webhooks.constructEvent(d.body, d.sig, d.secret);
}
console.log(JSON.stringify({id: ev.id, type: ev.type}));
try { stripe.webhooks.constructEvent(d.body, d.sig, "whsec_wrong"); }
catch (e) { console.log("rejected"); }
"""


def _verify(sdk: str, body: bytes, sig: str, secret: str, thin: bool) -> list[str]:
    env = ENVS / sdk
    if not env.exists():
        pytest.skip(f"{sdk} is not set up (python -m conformance setup)")
    payload = json.dumps({"body": body.decode(), "sig": sig, "secret": secret, "thin": thin})
    if sdk.startswith("python"):
        cmd = [str(env / "bin" / "python"), "-c", PY]
    else:
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed")
        cmd = [node, "-e", NODE, str(env)]
    out = subprocess.run(cmd, input=payload, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()


@pytest.mark.parametrize("sdk", ["python-11.6.1", "node-17.7.0", "node-23"])
def test_snapshot_event_verifies(client: stripe.StripeClient, sdk: str) -> None:
    with receiver() as rcv:
        ep = endpoint(client, rcv, ["customer.created"])
        client.v1.customers.create({})
        body, headers = rcv.raw[0]
        ev_id = json.loads(body)["id"]
        lines = _verify(sdk, body, headers["Stripe-Signature"], ep.secret, thin=False)
        assert json.loads(lines[0]) == {"id": ev_id, "type": "customer.created"}
        assert lines[1] == "rejected"


@pytest.mark.parametrize("sdk", ["python-11.6.1", "node-17.7.0", "node-23"])
def test_thin_event_parses(client: stripe.StripeClient, sdk: str) -> None:
    with receiver() as rcv:
        ed = client.v2.core.event_destinations.create(
            {
                "name": "thin",
                "type": "webhook_endpoint",
                "event_payload": "thin",
                "enabled_events": ["v1.billing.meter.error_report_triggered"],
                "webhook_endpoint": {"url": rcv.url},
                "include": ["webhook_endpoint.signing_secret"],
            }
        )
        secret = ed.webhook_endpoint.signing_secret
        rcv.secret = secret
        make_meter(client)
        send(client, "cus_nobody", 1, ts=day0())
        body, headers = rcv.raw[0]
        ev_id = json.loads(body)["id"]
        lines = _verify(sdk, body, headers["Stripe-Signature"], secret, thin=True)
        assert json.loads(lines[0]) == {
            "id": ev_id,
            "type": "v1.billing.meter.error_report_triggered",
        }
