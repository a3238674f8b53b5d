"""The retry policy of automatic collection (account settings, config.py): when the next
automatic retry of an invoice runs, and when its next time-driven collection step is due.

"custom": retry i runs `dunning_retry_days[i]` days after the previous attempt (Stripe's
Dashboard wording); "smart": retry k of N runs k/N of `dunning_smart_window_days` after the
first attempt (Smart Retries' ML timing cannot be reproduced, so the tries are spread evenly).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import AccountSettings
    from ..domain.invoices import Invoice

DAY = 86_400


def retry_time(settings: AccountSettings, inv: Invoice) -> int | None:
    """When the next automatic retry of `inv` runs (None: no retry left)."""
    retries_done = inv.attempt_count - 1
    if inv.last_attempt_at is None or inv.first_attempt_at is None:
        return None
    if settings.dunning_mode == "smart":
        tries = settings.dunning_smart_tries
        if retries_done >= tries:
            return None
        window = settings.dunning_smart_window_days * DAY
        return inv.first_attempt_at + window * (retries_done + 1) // tries
    days = settings.dunning_retry_days
    if retries_done >= len(days):
        return None
    return inv.last_attempt_at + days[retries_done] * DAY


def due_at(inv: Invoice) -> int | None:
    """The time of the invoice's next time-driven collection step (retry or due date)."""
    if inv.status != "open":
        return None
    if inv.next_payment_attempt is not None:
        return inv.next_payment_attempt
    if inv.collection_method == "send_invoice" and not inv.overdue and inv.due_date is not None:
        return inv.due_date
    return None
