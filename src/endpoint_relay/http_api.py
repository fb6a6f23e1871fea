"""The HTTP API's resolver: routes for ApiFunction, wired to its object graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from endpoint_relay.routes import errors, health
from endpoint_relay.routes.endpoints import endpoints_router
from endpoint_relay.routes.fleet import fleet_router
from endpoint_relay.routes.lookup_http import CallerAuth
from endpoint_relay.routes.slack import slack_router
from endpoint_relay.routes.v2 import v2_router
from endpoint_relay.wiring.api import ApiGraph
from endpoint_relay.wiring.common import Shared

if TYPE_CHECKING:
    from endpoint_relay.core.v2_models import Endpoint
    from endpoint_relay.routes.endpoints import V2Observer


def create_app(graph: ApiGraph) -> APIGatewayHttpResolver:
    shared = graph.shared
    observe_v2 = _v2_observer(shared)
    auth = CallerAuth(shared.settings.auth_mode, shared.secrets)
    app = APIGatewayHttpResolver()
    app.include_router(
        endpoints_router(
            lookups=shared.lookups,
            # Without an alert table nobody is ever notified: a lookup then never loads alerting at all.
            alerts=(lambda: shared.alerting().lookup_alerts) if shared.settings.alert_table_name else None,
            auth=auth,
            upstream=shared.together,
            default_project_id=shared.settings.default_project_id,
            observe_v2=observe_v2,
        )
    )
    app.include_router(
        v2_router(
            lookups=shared.lookups,
            upstream=shared.together,
            auth=auth,
            allowed_projects=shared.settings.allowed_project_ids,
            observe_v2=observe_v2,
        )
    )
    app.include_router(fleet_router(fleet=graph.shared.fleet, auth=auth))
    app.include_router(health.router)
    app.include_router(slack_router(slack=graph.slack, secrets=shared.secrets))
    errors.install(app)
    return app


def _v2_observer(shared: Shared) -> V2Observer | None:
    """Alerting after a v2 retrieval, as for v1: None without an alert table, else built on the first call."""
    if not shared.settings.alert_table_name:
        return None

    def observe(project_id: str, endpoint: Endpoint) -> None:
        shared.alerting().observe_v2(project_id, endpoint)

    return observe
