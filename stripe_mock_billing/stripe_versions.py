"""Stripe's released API versions (docs.stripe.com/upgrades and the SDK changelogs).

`Stripe-Version` must name one of these (config.validate_api_version); a `.preview` version is
accepted on any of their dates (v2 previews follow the release dates). A well-formed version
newer than the newest listed but not dated in the future is served as the newest one (a new SDK
release keeps working before this table learns its version) and the response says so in
`Stripe-Mock-Requested-Version`. LIMITATIONS: versions before 2017 are not listed (Stripe still
answers them; no SDK in use sends them).
"""

from __future__ import annotations

KNOWN_VERSIONS: frozenset[str] = frozenset(
    {
        # dated versions
        "2017-01-27",
        "2017-02-14",
        "2017-04-06",
        "2017-05-25",
        "2017-06-05",
        "2017-08-15",
        "2017-12-14",
        "2018-01-23",
        "2018-02-05",
        "2018-02-06",
        "2018-02-28",
        "2018-05-21",
        "2018-07-27",
        "2018-08-23",
        "2018-09-06",
        "2018-09-24",
        "2018-10-31",
        "2018-11-08",
        "2019-02-11",
        "2019-02-19",
        "2019-03-14",
        "2019-05-16",
        "2019-08-14",
        "2019-09-09",
        "2019-10-08",
        "2019-10-17",
        "2019-11-05",
        "2019-12-03",
        "2020-03-02",
        "2020-08-27",
        "2022-08-01",
        "2022-11-15",
        "2023-08-16",
        "2023-10-16",
        "2024-04-10",
        "2024-06-20",
        # release trains
        "2024-09-30.acacia",
        "2024-10-28.acacia",
        "2024-11-20.acacia",
        "2024-12-18.acacia",
        "2025-01-27.acacia",
        "2025-02-24.acacia",
        "2025-03-31.basil",
        "2025-04-30.basil",
        "2025-05-28.basil",
        "2025-06-30.basil",
        "2025-07-30.basil",
        "2025-08-27.basil",
        "2025-09-30.clover",
        "2025-10-29.clover",
        "2025-11-17.clover",
        "2025-12-15.clover",
        "2026-01-28.clover",
        "2026-02-25.clover",
        "2026-03-25.dahlia",
        "2026-04-22.dahlia",
        "2026-05-27.dahlia",
        "2026-10-28.endive",
        "2026-11-18.endive",
    }
)
NEWEST = max(KNOWN_VERSIONS)
KNOWN_DATES = frozenset(v[:10] for v in KNOWN_VERSIONS)
