"""Typed failures and their ErrorData rendering.

Every error the relay can answer with is one of these classes; the HTTP layer
maps them to responses in exactly one place. Messages are written for callers
and never include secrets, upstream bodies or caller input beyond a parameter name.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class RelayError(Exception):
    """Base of every error that becomes an ErrorData response."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = None

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


class InvalidEndpointIdError(RelayError):
    status = 400
    error_type = "invalid_request_error"
    code = "invalid_endpoint_id"


class UnauthorizedError(RelayError):
    status = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class EndpointNotFoundError(RelayError):
    status = 404
    error_type = "not_found_error"
    code = "endpoint_not_found"


class UpstreamError(RelayError):
    """Together did not give a usable answer."""

    status = 502
    error_type = "upstream_error"
    kind: ClassVar[str] = "error"
    """Short, stable label used for metrics (``UpstreamErrors`` by kind)."""


class UpstreamAuthError(UpstreamError):
    code = "upstream_auth_failed"
    kind = "auth"


class UpstreamRateLimitedError(UpstreamError):
    status = 429
    error_type = "rate_limit_error"
    code = "upstream_rate_limited"
    kind = "rate_limited"


class UpstreamUnavailableError(UpstreamError):
    """Connection failures or 5xx that outlasted the retries."""

    code = "upstream_unavailable"
    kind = "unavailable"


class UpstreamBusyError(UpstreamError):
    """Upstream asked us to come back later than the request budget allows."""

    status = 503
    error_type = "service_unavailable_error"
    code = "upstream_busy"
    kind = "busy"


class UpstreamTimeoutError(UpstreamError):
    status = 504
    error_type = "timeout_error"
    code = "upstream_timeout"
    kind = "timeout"


class InvalidUpstreamResponseError(UpstreamError):
    code = "upstream_invalid_response"
    kind = "invalid_response"


class ConfigurationError(RelayError):
    """The relay's own configuration or secret is unusable: an operator problem."""

    status = 500
    error_type = "server_error"
    code = "relay_misconfigured"


class SecretUnavailableError(RelayError):
    """Secrets Manager is throttling or briefly unreachable: worth retrying soon."""

    status = 503
    error_type = "service_unavailable_error"
    code = "relay_secret_unavailable"


class RouteNotFoundError(RelayError):
    status = 404
    error_type = "not_found_error"
    code = "route_not_found"


class MethodNotAllowedError(RelayError):
    status = 405
    error_type = "invalid_request_error"
    code = "method_not_allowed"


class DeadlineExceededError(RelayError):
    """The invocation's time budget cannot fit the next remote call, so it was not started."""

    status = 504
    error_type = "timeout_error"
    code = "relay_deadline_exceeded"
