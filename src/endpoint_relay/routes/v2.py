"""GET /v2/...: Together's v2 read API for the configured projects, read-only and cached like v1 lookups.

Every path is answered by one handler: :func:`parse_v2_request` checks the
path's ids, the project against the allow-list and the query, all before
the secret is read or Together is called. The SDK 3.x works unchanged with
``base_url`` pointed at the relay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from endpoint_relay.core.lookup import LookupService
from endpoint_relay.routes.endpoints import in_project
from endpoint_relay.routes.lookup_http import CallerAuth, cached_response, counted_fetch, http_event

if TYPE_CHECKING:
    from endpoint_relay.core.v2_resources import V2Source
    from endpoint_relay.routes.endpoints import V2Observer

# Powertools matches one segment per <name>; parse_v2_request re-reads the raw path whichever matched.
PATHS = (
    "/v2/projects/<projectId>/endpoints",
    "/v2/projects/<projectId>/endpoints/<id>",
    "/v2/projects/<projectId>/endpoints/<id>/events",
    "/v2/projects/<projectId>/endpoints/<endpointId>/deployments",
    "/v2/projects/<projectId>/endpoints/<endpointId>/deployments/<id>",
    "/v2/public/inference-instance-types",
    "/v2/public/inference-instance-types/<id>",
)


def v2_router(
    *,
    lookups: LookupService,
    upstream: V2Source,
    auth: CallerAuth,
    allowed_projects: frozenset[str],
    observe_v2: V2Observer | None = None,
) -> Router:
    """``observe_v2`` hears of each endpoint really retrieved (not served from the cache); None when nobody listens."""
    router = Router()

    def answer(**_path_parameters: str) -> Response[str]:
        # Imported on the first v2 request: a v1 lookup's cold start never pays for the v2 models.
        from endpoint_relay.core.v2_request import V2Resource, parse_v2_request
        from endpoint_relay.core.v2_resources import v2_resource

        event = http_event(router)
        # Anonymous callers are refused first, so they cannot probe which projects the relay serves.
        auth.require_credentials(event)
        request = parse_v2_request(event.raw_path, event.raw_query_string or "", allowed_projects)
        auth.verify_token(event)
        endpoint_read = request.resource is V2Resource.ENDPOINT
        observe = in_project(observe_v2, request.project_id) if endpoint_read else None
        result = counted_fetch(
            lookups, v2_resource(upstream, request), event, after_retrieval=observe, what="v2 alert evaluation"
        )
        return cached_response(result.body, result.status, result.age, result.max_age)

    for path in PATHS:
        router.get(path)(answer)
    return router
