"""One endpoint's status for Slack, wired once for both halves of the command: the acknowledgement and the worker."""

from __future__ import annotations

from endpoint_relay.app.endpoint_status import EndpointStatus
from endpoint_relay.core.prices import LazyPrices
from endpoint_relay.wiring.common import Shared


def endpoint_status(shared: Shared) -> EndpointStatus:
    alerting = shared.alerting()
    return EndpointStatus(
        lookups=shared.lookups,
        v2_source=shared.together,
        alerts=alerting.lookup_alerts,
        mutes=alerting.mutes,
        projects=shared.settings.allowed_project_ids,
        prices=LazyPrices(shared.prices),
    )
