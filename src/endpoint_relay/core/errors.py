"""Typed failures and their ErrorData rendering.

Every error the relay can answer with is one of these classes; the HTTP layer
maps them to responses in exactly one place. Messages are written for callers
and never include secrets, upstream bodies or caller input beyond a parameter name.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, ClassVar


class RelayError(Exception):
    """Base of every error that becomes an ErrorData response."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = None

    def __init_subclass__(
        cls, *, answer: tuple[int, str] | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        """Each subclass names its HTTP answer (status and ErrorData type) and its stable code in its header line."""
        super().__init_subclass__(**kwargs)
        if answer is not None:
            cls.status, cls.error_type = answer
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, param: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.retry_after = retry_after

    def error_data(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}

    def body(self) -> str:
        return json.dumps(self.error_data(), separators=(",", ":"))

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


# The HTTP answers the relay gives: (status, ErrorData type).
BAD_REQUEST = (400, "invalid_request_error")
UNAUTHENTICATED = (401, "authentication_error")
NOT_FOUND = (404, "not_found_error")
METHOD_NOT_ALLOWED = (405, "invalid_request_error")
RATE_LIMITED = (429, "rate_limit_error")
SERVER_ERROR = (500, "server_error")
BAD_GATEWAY = (502, "upstream_error")
UNAVAILABLE = (503, "service_unavailable_error")
TIMED_OUT = (504, "timeout_error")


class InvalidEndpointIdError(RelayError, answer=BAD_REQUEST, code="invalid_endpoint_id"):
    """The endpoint id is not one Together could have issued; refused before any secret or upstream call."""


class UnauthorizedError(RelayError, answer=UNAUTHENTICATED, code="invalid_api_key"):
    """No valid relay token (or SigV4 identity) came with the request."""


class InvalidIdError(RelayError, answer=BAD_REQUEST, code="invalid_id"):
    """A v2 id (project, deployment, instance type) Together could not have issued; refused before any call."""


class InvalidQueryError(RelayError, answer=BAD_REQUEST, code="invalid_query"):
    """A query parameter the relay does not pass on as it is, or one Together refused with 400."""


class NotFoundError(RelayError, answer=NOT_FOUND, code="not_found"):
    """Together does not know the resource (remembered for the negative-cache TTL)."""


class EndpointNotFoundError(NotFoundError, code="endpoint_not_found"):
    """Together does not know the endpoint (remembered for the negative-cache TTL)."""


class ProjectNotFoundError(NotFoundError, code="project_not_found"):
    """The project is not one this relay serves, or Together does not know it."""


class DeploymentNotFoundError(NotFoundError, code="deployment_not_found"):
    """Together does not know the deployment under that endpoint."""


class InstanceTypeNotFoundError(NotFoundError, code="instance_type_not_found"):
    """Together's instance-type catalog has no such id."""


class UpstreamError(RelayError, answer=BAD_GATEWAY):
    """Together did not give a usable answer."""

    kind: ClassVar[str] = "error"
    """Short, stable label used for metrics (``UpstreamErrors`` by kind)."""

    def __init_subclass__(cls, *, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind


class UpstreamAuthError(UpstreamError, code="upstream_auth_failed", kind="auth"):
    """Together refused the relay's key, even after re-reading the secret once."""


class UpstreamRateLimitedError(UpstreamError, answer=RATE_LIMITED, code="upstream_rate_limited", kind="rate_limited"):
    """Together answered 429 after the retries the request budget allows."""


class UpstreamUnavailableError(UpstreamError, code="upstream_unavailable", kind="unavailable"):
    """Connection failures or 5xx that outlasted the retries."""


class UpstreamBusyError(UpstreamError, answer=UNAVAILABLE, code="upstream_busy", kind="busy"):
    """Upstream asked us to come back later than the request budget allows."""


class UpstreamTimeoutError(UpstreamError, answer=TIMED_OUT, code="upstream_timeout", kind="timeout"):
    """Together did not answer within the read timeout (or what the invocation had left)."""


class V1RetiredError(UpstreamError, code="upstream_v1_retired", kind="retired"):
    """Together's v1 endpoint API refuses for good (403 ``endpoints_v1_create_access_disabled``, 404 or 410)."""


class InvalidUpstreamResponseError(UpstreamError, code="upstream_invalid_response", kind="invalid_response"):
    """Together answered 200 with something that is not an endpoint: a contract change worth a look."""


class ConfigurationError(RelayError, answer=SERVER_ERROR, code="relay_misconfigured"):
    """The relay's own configuration or secret is unusable: an operator problem."""


class SecretUnavailableError(RelayError, answer=UNAVAILABLE, code="relay_secret_unavailable"):
    """Secrets Manager is throttling or briefly unreachable: worth retrying soon."""


class RouteNotFoundError(RelayError, answer=NOT_FOUND, code="route_not_found"):
    """No route matches the path."""


class MethodNotAllowedError(RelayError, answer=METHOD_NOT_ALLOWED, code="method_not_allowed"):
    """The path exists, but the relay is read-only: GET only."""


class DeadlineExceededError(RelayError, answer=TIMED_OUT, code="relay_deadline_exceeded"):
    """The invocation's time budget cannot fit the next remote call, so it was not started."""


class SlackSignatureError(RelayError, answer=UNAUTHENTICATED, code="invalid_signature"):
    """Not a request from our Slack app. The reason is for logs; the response says nothing more."""

    def __init__(self, reason: StrEnum) -> None:
        super().__init__("unauthorized")
        self.reason = reason


class AlertStoreError(RelayError, answer=UNAVAILABLE, code="alert_state_unavailable"):
    """The alert state store failed; the message names an error code, never data."""
