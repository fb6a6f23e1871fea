"""GET /v1/endpoints/{endpointId}: Together's endpoint, read-only and cached."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.endpoint_id import invalid_endpoint_id, require_endpoint_id
from endpoint_relay.core.errors import RelayError, UnauthorizedError
from endpoint_relay.core.lookup import LookupResult, LookupService, SecretSource
from endpoint_relay.core.tokens import bearer_token, token_is_valid
from endpoint_relay.observability import count
from endpoint_relay.settings import AuthMode

if TYPE_CHECKING:
    from endpoint_relay.app.lookup_alerts import LookupAlerts

logger = logging.getLogger(__name__)

_RETRIEVED = frozenset({CacheStatus.MISS, CacheStatus.REFRESH})
"""Only a real retrieval is evaluated: a cache hit changes nothing, and must not touch DynamoDB."""


def endpoints_router(
    *,
    lookups: LookupService,
    alerts: Callable[[], LookupAlerts] | None,
    secrets: SecretSource,
    auth_mode: AuthMode,
) -> Router:
    """``alerts`` is None when alerting is off; otherwise it is built on the first retrieval."""
    router = Router()

    @router.get("/v1/endpoints/<endpointId>")
    def get_endpoint(endpointId: str) -> Response[str]:  # noqa: N803 - the name is the path parameter's
        # Order matters: a bad id is refused before the secret or upstream is touched.
        endpoint_id = require_endpoint_id(endpointId)
        event = router.current_event
        assert isinstance(event, APIGatewayProxyEventV2)  # noqa: S101 - the resolver is the HTTP API one
        if not event.raw_path.endswith(f"/{endpoint_id}"):
            # Powertools' route pattern ends in `$`, which also matches before a trailing newline.
            raise invalid_endpoint_id()
        _authenticate(event, auth_mode, secrets)
        force_refresh = "no-cache" in (event.headers.get("cache-control") or "").lower()
        result = lookups.lookup(endpoint_id, force_refresh=force_refresh)
        count(f"Cache{result.status.value.title()}")
        count("Lookups")
        if alerts is not None and result.status in _RETRIEVED:
            _observe(alerts, result)
        return _cached_response(result)

    return router


def _observe(alerts: Callable[[], LookupAlerts], result: LookupResult) -> None:
    # The state store decides whether anybody hears about it; alerting trouble never fails a lookup.
    try:
        alerts().observe(result.endpoint)
    except RelayError as exc:
        logger.warning("alert evaluation failed", extra={"error_code": exc.code})
    except Exception:
        # The caller asked for the endpoint, not for alerting: answer it, and leave the trace for us.
        logger.exception("alert evaluation failed unexpectedly")


def _authenticate(event: APIGatewayProxyEventV2, auth_mode: AuthMode, secrets: SecretSource) -> None:
    if auth_mode is AuthMode.IAM:
        # API Gateway verified SigV4 before invoking us; refuse if the route was left open by mistake.
        if not (event.request_context.authorizer and event.request_context.authorizer.iam):
            raise UnauthorizedError("this relay requires SigV4-signed requests")
        return
    token = bearer_token(event.headers.get("authorization"))
    if token is None:  # refused before the secret is read: an anonymous caller learns nothing about it
        raise UnauthorizedError("a valid relay token is required in 'Authorization: Bearer <token>'")
    if not token_is_valid(token, secrets.get().relay_token_sha256):
        raise UnauthorizedError("a valid relay token is required in 'Authorization: Bearer <token>'")


def _cached_response(result: LookupResult) -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=result.body,
        headers={
            "X-Cache": result.status.value,
            "Age": str(result.age),
            "Cache-Control": f"max-age={result.max_age}",
        },
    )
