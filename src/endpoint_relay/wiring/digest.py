"""The daily digest's units, built on first use in SweepFunction (a sweep only needs them to retry a sink)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from endpoint_relay.adapters.digest_ledger import DynamoDigestLedger
from endpoint_relay.adapters.open_alerts import DynamoOpenAlerts
from endpoint_relay.app.digest import DailyDigest, DigestSink
from endpoint_relay.core.fleet import Fleet, FleetSource
from endpoint_relay.wiring.common import Shared


class _FleetOnDemand(NamedTuple):
    """The view /relay/fleet and /together spend read, built when a digest is first made: a sweep that only
    retries an owed digest posts the stored one and never builds it."""

    view: Callable[[], FleetSource]

    def fleet(self) -> Fleet:
        return self.view().fleet()


def build_digest(shared: Shared, fleet: FleetSource | None = None) -> DailyDigest | None:
    """None without an alert table: the date's de-duplication lives there. ``fleet`` defaults to the fleet view."""
    table = shared.settings.alert_table_name
    if table is None:
        return None
    alerting = shared.alerting()
    budget = alerting.dispatcher.budget_seconds
    return DailyDigest(
        fleet=fleet or _FleetOnDemand(shared.fleet),
        alerts=DynamoOpenAlerts(table, shared.clock),
        ledger=DynamoDigestLedger(table),
        sinks=[sink for sink in alerting.sinks if isinstance(sink, DigestSink)],
        clock=shared.clock,
        deadline=shared.deadline,
        # As notices: longer than the slowest post, doubled; posting and recording it must both fit.
        lease_seconds=max(60.0, 2 * budget),
        budget_seconds=budget,
    )
