"""GET /v1/endpoints/{endpointId}: Together's endpoint, read-only and cached; ``ep_...`` ids through the v1 view."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.endpoint_id import V2_ENDPOINT_PREFIX, invalid_endpoint_id, require_endpoint_id
from endpoint_relay.core.errors import EndpointNotFoundError, ProjectNotFoundError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.routes.lookup_http import CallerAuth, cached_response, counted_fetch, http_event

if TYPE_CHECKING:
    from endpoint_relay.app.lookup_alerts import LookupAlerts
    from endpoint_relay.core.v2_models import Endpoint
    from endpoint_relay.core.v2_resources import V2Source

    V2Observer = Callable[[str, Endpoint], None]
    """Called with (project id, endpoint) after a real retrieval of a v2 endpoint."""

TRANSLATED_HEADER = "X-Relay-Translated-From"


def endpoints_router(
    *,
    lookups: LookupService,
    alerts: Callable[[], LookupAlerts] | None,
    auth: CallerAuth,
    upstream: V2Source | None = None,
    default_project_id: str | None = None,
    observe_v2: V2Observer | None = None,
) -> Router:
    """``alerts`` is None when alerting is off; otherwise it is built on the first retrieval."""
    router = Router()

    @router.get("/v1/endpoints/<endpointId>")
    def get_endpoint(endpointId: str) -> Response[str]:  # noqa: N803 - the name is the path parameter's
        event = http_event(router)
        if endpointId.startswith(V2_ENDPOINT_PREFIX):  # the v1 view: the v2 modules are imported only then
            return _v1_view(
                event,
                endpointId,
                lookups=lookups,
                auth=auth,
                upstream=upstream,
                default_project_id=default_project_id,
                observe_v2=observe_v2,
            )
        # Order matters: a bad id is refused before the secret or upstream is touched.
        endpoint_id = _in_raw_path(event, require_endpoint_id(endpointId))
        auth.authenticate(event)
        observe = None if alerts is None else (lambda endpoint: alerts().observe(endpoint))
        result = counted_fetch(lookups, lookups.v1_resource(endpoint_id), event, after_retrieval=observe)
        return cached_response(result.body, result.status, result.age, result.max_age)

    return router


def _v1_view(
    event: APIGatewayProxyEventV2,
    raw_id: str,
    *,
    lookups: LookupService,
    auth: CallerAuth,
    upstream: V2Source | None,
    default_project_id: str | None,
    observe_v2: V2Observer | None,
) -> Response[str]:
    """An ``ep_…`` id of the default project, in the v1 shape."""
    from endpoint_relay.core.v1_view import to_v1_document
    from endpoint_relay.core.v2_ids import require_v2_endpoint_id
    from endpoint_relay.core.v2_request import endpoint_request
    from endpoint_relay.core.v2_resources import v2_resource

    endpoint_id = _in_raw_path(event, require_v2_endpoint_id(raw_id))
    auth.require_credentials(event)
    if default_project_id is None or upstream is None:
        raise ProjectNotFoundError(
            "ep_ ids are read from the relay's default project, and TOGETHER_PROJECT_ID is not set",
            param="endpointId",
        )
    auth.verify_token(event)
    request = endpoint_request(default_project_id, endpoint_id)
    observe = in_project(observe_v2, default_project_id)
    try:
        result = counted_fetch(
            lookups, v2_resource(upstream, request), event, after_retrieval=observe, what="v2 alert evaluation"
        )
    except EndpointNotFoundError:
        raise EndpointNotFoundError("endpoint not found", param="endpointId") from None
    endpoint: Endpoint = result.value
    body = json.dumps(to_v1_document(endpoint), separators=(",", ":"))
    return cached_response(body, result.status, result.age, result.max_age, {TRANSLATED_HEADER: "v2"})


def in_project(observe_v2: V2Observer | None, project_id: str | None) -> Callable[[Endpoint], None] | None:
    """``observe_v2`` for the endpoints of one project; None when nobody listens or there is no project."""
    if observe_v2 is None or project_id is None:
        return None
    return lambda endpoint: observe_v2(project_id, endpoint)


def _in_raw_path(event: APIGatewayProxyEventV2, endpoint_id: str) -> str:
    if not event.raw_path.endswith(f"/{endpoint_id}"):
        # Powertools' route pattern ends in `$`, which also matches before a trailing newline.
        raise invalid_endpoint_id()
    return endpoint_id
