"""The daily digest's units, built on first use in SweepFunction (a sweep only needs them to retry a sink)."""

from __future__ import annotations

from endpoint_relay.adapters.digest_ledger import DynamoDigestLedger
from endpoint_relay.adapters.open_alerts import DynamoOpenAlerts
from endpoint_relay.app.digest import DailyDigest, DigestSink, FleetSource
from endpoint_relay.app.digest_fleet import ListedFleet
from endpoint_relay.app.v2_listing import V2Listing, page_size
from endpoint_relay.wiring.common import Shared


def build_digest(shared: Shared, fleet: FleetSource | None = None) -> DailyDigest | None:
    """None without an alert table: the date's de-duplication lives there."""
    settings = shared.settings
    table = settings.alert_table_name
    if table is None:
        return None
    alerting = shared.alerting()
    alerts = DynamoOpenAlerts(table, shared.clock)
    if fleet is None:
        listing = V2Listing(
            shared.together,
            shared.secrets,
            shared.lookups,
            sorted(settings.allowed_project_ids),
            size=page_size(settings.upstream.max_response_bytes),
        )
        fleet = ListedFleet(listing, shared.prices(), alerts, shared.clock)
    budget = alerting.dispatcher.budget_seconds
    return DailyDigest(
        fleet=fleet,
        alerts=alerts,
        ledger=DynamoDigestLedger(table),
        sinks=[sink for sink in alerting.sinks if isinstance(sink, DigestSink)],
        clock=shared.clock,
        deadline=shared.deadline,
        # As notices: longer than the slowest post, doubled; posting and recording it must both fit.
        lease_seconds=max(60.0, 2 * budget),
        budget_seconds=budget,
    )
