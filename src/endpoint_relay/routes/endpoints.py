"""GET /v1/endpoints/{endpointId}: Together's endpoint, read-only and cached; ``ep_...`` ids through the v1 view."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.endpoint_id import invalid_endpoint_id, require_endpoint_id
from endpoint_relay.core.errors import EndpointNotFoundError, ProjectNotFoundError
from endpoint_relay.core.lookup import LookupService, SecretSource
from endpoint_relay.routes.lookup_http import (
    RETRIEVED,
    authenticate,
    cached_response,
    count_lookup,
    guarded,
    http_event,
    require_credentials,
    verify_token,
    wants_refresh,
)
from endpoint_relay.settings import AuthMode

if TYPE_CHECKING:
    from endpoint_relay.app.lookup_alerts import LookupAlerts
    from endpoint_relay.core.v2_models import Endpoint
    from endpoint_relay.core.v2_resources import V2Source

    V2Observer = Callable[[str, Endpoint], None]
    """Called with (project id, endpoint) after a real retrieval of a v2 endpoint."""

TRANSLATED_HEADER = "X-Relay-Translated-From"
_V2_ENDPOINT_PREFIX = "ep_"
"""``ep_…`` ids take the v1 view; the v2 modules are imported only then (core.v2_ids checks the same prefix)."""


def endpoints_router(
    *,
    lookups: LookupService,
    alerts: Callable[[], LookupAlerts] | None,
    secrets: SecretSource,
    auth_mode: AuthMode,
    upstream: V2Source | None = None,
    default_project_id: str | None = None,
    observe_v2: V2Observer | None = None,
) -> Router:
    """``alerts`` is None when alerting is off; otherwise it is built on the first retrieval."""
    router = Router()

    @router.get("/v1/endpoints/<endpointId>")
    def get_endpoint(endpointId: str) -> Response[str]:  # noqa: N803 - the name is the path parameter's
        event = http_event(router)
        if endpointId.startswith(_V2_ENDPOINT_PREFIX):
            return _v1_view(
                event,
                endpointId,
                lookups=lookups,
                secrets=secrets,
                auth_mode=auth_mode,
                upstream=upstream,
                default_project_id=default_project_id,
                observe_v2=observe_v2,
            )
        # Order matters: a bad id is refused before the secret or upstream is touched.
        endpoint_id = _in_raw_path(event, require_endpoint_id(endpointId))
        authenticate(event, auth_mode, secrets)
        result = lookups.lookup(endpoint_id, force_refresh=wants_refresh(event))
        count_lookup(result.status)
        if alerts is not None and result.status in RETRIEVED:
            guarded("alert evaluation", lambda: alerts().observe(result.endpoint))
        return cached_response(result.body, result.status, result.age, result.max_age)

    return router


def _v1_view(
    event: APIGatewayProxyEventV2,
    raw_id: str,
    *,
    lookups: LookupService,
    secrets: SecretSource,
    auth_mode: AuthMode,
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
    require_credentials(event, auth_mode)
    if default_project_id is None or upstream is None:
        raise ProjectNotFoundError(
            "ep_ ids are read from the relay's default project, and TOGETHER_PROJECT_ID is not set",
            param="endpointId",
        )
    verify_token(event, auth_mode, secrets)
    request = endpoint_request(default_project_id, endpoint_id)
    try:
        result = lookups.fetch(v2_resource(upstream, request), force_refresh=wants_refresh(event))
    except EndpointNotFoundError:
        raise EndpointNotFoundError("endpoint not found", param="endpointId") from None
    count_lookup(result.status)
    endpoint: Endpoint = result.value
    if observe_v2 is not None and result.status in RETRIEVED:
        guarded("v2 alert evaluation", lambda: observe_v2(default_project_id, endpoint))
    body = json.dumps(to_v1_document(endpoint), separators=(",", ":"))
    return cached_response(body, result.status, result.age, result.max_age, {TRANSLATED_HEADER: "v2"})


def _in_raw_path(event: APIGatewayProxyEventV2, endpoint_id: str) -> str:
    if not event.raw_path.endswith(f"/{endpoint_id}"):
        # Powertools' route pattern ends in `$`, which also matches before a trailing newline.
        raise invalid_endpoint_id()
    return endpoint_id
