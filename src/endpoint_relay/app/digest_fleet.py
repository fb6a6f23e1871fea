"""A fleet for the digest from the sweep's paged v2 listing: v2 deployments holding ready replicas, priced.

A stand-in :class:`~endpoint_relay.app.digest.FleetSource` until the fleet view (which also reads v1)
is wired in its place. v1 endpoints are not listed here. Each line's alert status and finding kinds
come from the alert table's open alerts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from endpoint_relay.app.digest import OpenAlerts
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.cost import deployment_spend
from endpoint_relay.core.digest import OpenAlert
from endpoint_relay.core.errors import RelayError
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.prices import Prices

logger = logging.getLogger(__name__)


class ListedFleet:
    def __init__(
        self,
        listing: Callable[[], Mapping[str, Listed]],
        prices: Prices,
        alerts: OpenAlerts,
        clock: Callable[[], float],
    ) -> None:
        self._listing = listing
        self._prices = prices
        self._alerts = alerts
        self._clock = clock

    def fleet(self) -> Fleet:
        open_alerts = {alert.key: alert for alert in self._alerts.open_alerts()}
        generated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock()))
        try:
            listed = self._listing()
        except RelayError as exc:
            logger.warning("v2 endpoints unreadable for the digest", extra={"error_kind": exc.code})
            return Fleet.of((), generated_at, unreadable=("v2",))
        lines = [line for key, item in listed.items() for line in self._lines(key, item, open_alerts.get(key))]
        return Fleet.of(lines, generated_at)

    def _lines(self, key: str, item: Listed, alert: OpenAlert | None) -> list[FleetLine]:
        endpoint = item.endpoint
        lines = []
        for deployment in endpoint.deployments:
            if not deployment.ready_replicas:
                continue
            findings = () if alert is None else alert.findings
            lines.append(
                FleetLine(
                    key=key,
                    endpoint_id=endpoint.id,
                    project_id=item.project_id,
                    deployment_id=deployment.id,
                    name=endpoint.name or endpoint.id,
                    state=deployment.state,
                    spend=deployment_spend(deployment, self._prices.cents_per_hour(deployment.hardware)),
                    alert="ok" if alert is None else "muted" if alert.muted else "firing",
                    findings=tuple(f.kind for f in findings if f.subject in (None, deployment.id)),
                )
            )
        return lines
