"""`create_app(settings)`: the Flask factory every mode (server, thread, in-process) shares."""

from __future__ import annotations

from flask import Flask

from .billing.invoicing import refresh_draft
from .config import Settings
from .control import control
from .control_billing import control_billing
from .control_webhooks import install as install_webhooks
from .errors import ErrorLog
from .resources.alerts import alerts
from .resources.billing_meters import billing_meters
from .resources.credit_grants import credit_grants
from .resources.customers import customers
from .resources.event_destinations import event_destinations
from .resources.events import events
from .resources.invoice_preview import invoice_preview
from .resources.invoiceitems import invoiceitems
from .resources.invoices import invoices
from .resources.manual_invoices import manual_invoices_bp
from .resources.meter_events import meter_events
from .resources.meter_events_v2 import meter_events_v2
from .resources.payment_methods import payment_methods
from .resources.prices import prices
from .resources.products import products
from .resources.subscription_items import subscription_items
from .resources.subscriptions import subscriptions
from .resources.test_clocks import sync_before_request, test_clocks
from .resources.usage_records import usage_records
from .resources.webhook_endpoints import webhook_endpoints
from .store import Store
from .wire import dispatch, pipeline


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """A new emulator app with its own Store (unless one is given)."""
    settings = settings or Settings.from_env()
    app = Flask("stripe_mock_billing")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = True
    app.extensions["stripe_mock_billing.store"] = store or Store(settings)
    # unexpected exceptions, kept for the thread / in-process adapters to re-raise into tests
    app.extensions["stripe_mock_billing.errors"] = ErrorLog()  # bounded: the newest 100
    dispatch.install(app)
    # renders inside a request bring a draft invoice's metered lines up to date first
    app.extensions[pipeline.REFRESH] = refresh_draft
    # after the pipeline's hook (which takes the account lock): roll due wall-clock subscriptions
    pipeline.add_before(app, sync_before_request)
    app.register_blueprint(control)
    app.register_blueprint(control_billing)
    app.register_blueprint(customers)
    app.register_blueprint(products)
    app.register_blueprint(prices)
    app.register_blueprint(subscriptions)
    app.register_blueprint(subscription_items)
    app.register_blueprint(billing_meters)
    app.register_blueprint(meter_events)
    app.register_blueprint(meter_events_v2)
    app.register_blueprint(usage_records)
    app.register_blueprint(test_clocks)
    app.register_blueprint(invoice_preview)
    app.register_blueprint(invoices)
    app.register_blueprint(manual_invoices_bp)
    app.register_blueprint(invoiceitems)
    app.register_blueprint(payment_methods)
    app.register_blueprint(events)
    app.register_blueprint(webhook_endpoints)
    app.register_blueprint(event_destinations)
    app.register_blueprint(credit_grants)
    app.register_blueprint(alerts)
    # webhook delivery: after the pipeline's hooks (the events of a request go out once its
    # write is done and its lock released, before its response)
    install_webhooks(app)
    return app
