"""What every lookup route shares: authentication, the cache headers, and the hook after a real retrieval."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.errors import RelayError, UnauthorizedError
from endpoint_relay.core.lookup import SecretSource
from endpoint_relay.core.tokens import bearer_token, token_is_valid
from endpoint_relay.observability import count
from endpoint_relay.settings import AuthMode

logger = logging.getLogger(__name__)

RETRIEVED = frozenset({CacheStatus.MISS, CacheStatus.REFRESH})
"""Only a real retrieval is evaluated: a cache hit changes nothing, and must not touch DynamoDB."""

_CREDENTIALS_NEEDED = "a valid relay token is required in 'Authorization: Bearer <token>'"


def http_event(router: Router) -> APIGatewayProxyEventV2:
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEventV2)  # noqa: S101 - the resolver is the HTTP API one
    return event


def require_credentials(event: APIGatewayProxyEventV2, auth_mode: AuthMode) -> None:
    """The checks that need no secret: an anonymous caller learns nothing about the secret, projects or cache."""
    if auth_mode is AuthMode.IAM:
        # API Gateway verified SigV4 before invoking us; refuse if the route was left open by mistake.
        if not (event.request_context.authorizer and event.request_context.authorizer.iam):
            raise UnauthorizedError("this relay requires SigV4-signed requests")
        return
    if bearer_token(event.headers.get("authorization")) is None:
        raise UnauthorizedError(_CREDENTIALS_NEEDED)


def verify_token(event: APIGatewayProxyEventV2, auth_mode: AuthMode, secrets: SecretSource) -> None:
    """The relay token against the secret's digests (after :func:`require_credentials`)."""
    if auth_mode is AuthMode.IAM:
        return
    token = bearer_token(event.headers.get("authorization"))
    if token is None or not token_is_valid(token, secrets.get().relay_token_sha256):
        raise UnauthorizedError(_CREDENTIALS_NEEDED)


def authenticate(event: APIGatewayProxyEventV2, auth_mode: AuthMode, secrets: SecretSource) -> None:
    require_credentials(event, auth_mode)
    verify_token(event, auth_mode, secrets)


def wants_refresh(event: APIGatewayProxyEventV2) -> bool:
    return "no-cache" in (event.headers.get("cache-control") or "").lower()


def count_lookup(status: CacheStatus) -> None:
    count(f"Cache{status.value.title()}")
    count("Lookups")


def cached_response(
    body: str, status: CacheStatus, age: int, max_age: int, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"X-Cache": status.value, "Age": str(age), "Cache-Control": f"max-age={max_age}", **(headers or {})},
    )


def guarded(what: str, observe: Callable[[], object]) -> None:
    """Run an after-retrieval hook; its trouble never fails the lookup the caller asked for."""
    try:
        observe()
    except RelayError as exc:
        logger.warning(f"{what} failed", extra={"error_code": exc.code})
    except Exception:
        # The caller asked for the endpoint, not for alerting: answer it, and leave the trace for us.
        logger.exception(f"{what} failed unexpectedly")
