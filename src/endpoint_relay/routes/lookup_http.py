"""What every lookup route shares: the caller's authentication, the counted fetch, and the cache headers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.errors import RelayError, UnauthorizedError
from endpoint_relay.core.lookup import Cached, LookupService, Resource, SecretSource
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


class CallerAuth(NamedTuple):
    """How the lookup routes' callers prove who they are (``RELAY_AUTH_MODE``), and where the tokens' digests are."""

    mode: AuthMode
    secrets: SecretSource

    def require_credentials(self, event: APIGatewayProxyEventV2) -> None:
        """The checks that need no secret: an anonymous caller learns nothing about the secret, projects or cache."""
        if self.mode is AuthMode.IAM:
            # API Gateway verified SigV4 before invoking us; refuse if the route was left open by mistake.
            if not (event.request_context.authorizer and event.request_context.authorizer.iam):
                raise UnauthorizedError("this relay requires SigV4-signed requests")
            return
        if bearer_token(event.headers.get("authorization")) is None:
            raise UnauthorizedError(_CREDENTIALS_NEEDED)

    def verify_token(self, event: APIGatewayProxyEventV2) -> None:
        """The relay token against the secret's digests (after :meth:`require_credentials`)."""
        if self.mode is AuthMode.IAM:
            return
        token = bearer_token(event.headers.get("authorization"))
        if token is None or not token_is_valid(token, self.secrets.get().relay_token_sha256):
            raise UnauthorizedError(_CREDENTIALS_NEEDED)

    def authenticate(self, event: APIGatewayProxyEventV2) -> None:
        self.require_credentials(event)
        self.verify_token(event)


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


def counted_fetch[T](
    lookups: LookupService,
    resource: Resource[T],
    event: APIGatewayProxyEventV2,
    *,
    after_retrieval: Callable[[T], object] | None = None,
    what: str = "alert evaluation",
) -> Cached[T]:
    """A lookup route's fetch: the caller's ``no-cache`` honoured, the lookup counted, and ``after_retrieval``
    told of a real retrieval only (:data:`RETRIEVED`), without ever failing the answer (:func:`guarded`)."""
    result = lookups.fetch(resource, force_refresh=wants_refresh(event))
    count_lookup(result.status)
    if after_retrieval is not None and result.status in RETRIEVED:
        guarded(what, lambda: after_retrieval(result.value))
    return result
