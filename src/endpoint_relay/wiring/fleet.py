"""The fleet spend view's object graph, built on the first ``GET /relay/fleet`` or ``/together spend``.

Imported only when one of them is called, so a lookup's cold start never loads it (nor the batch reader).
"""

from __future__ import annotations

from collections.abc import Iterator

from endpoint_relay.adapters.alert_batches import DynamoAlertBatches
from endpoint_relay.app.fleet_view import FleetSources, FleetView
from endpoint_relay.app.sweep_targets import V1Retirement
from endpoint_relay.app.v2_listing import V2Listing, page_size
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.v2_models import Endpoint
from endpoint_relay.wiring.common import Shared, together_lister


def build_fleet_view(shared: Shared) -> FleetView:
    settings = shared.settings
    size = page_size(settings.upstream.max_response_bytes)

    def list_project(project_id: str) -> Iterator[Endpoint]:
        # Read for the view alone: remembering each listed endpoint in the shared tier would cost a write per
        # endpoint on a path that answers a person, so the listing remembers none.
        listing = V2Listing(shared.together, shared.secrets, None, [project_id], size=size)
        return (listed.endpoint for listed in listing().values())

    def read_v1(endpoint_id: str) -> V1Endpoint:
        return shared.lookups.lookup(endpoint_id).endpoint

    table = settings.alert_table_name
    sources = FleetSources(
        projects=sorted(settings.allowed_project_ids),
        list_project=list_project,
        list_v1_ids=together_lister(shared.together, shared.secrets),
        read_v1=read_v1,
        v1=V1Retirement(),
        alerts=DynamoAlertBatches(table).load_many if table else None,
    )
    return FleetView(sources, shared.prices(), clock=shared.clock)
