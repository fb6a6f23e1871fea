"""The one place where failures become ErrorData responses."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from endpoint_relay.core.endpoint_id import invalid_endpoint_id
from endpoint_relay.core.errors import MethodNotAllowedError, RelayError, RouteNotFoundError, UnauthorizedError
from endpoint_relay.observability import logger

_ENDPOINTS_PREFIX = "/v1/endpoints/"
_V2_PREFIX = "/v2/"


GENERIC_MESSAGES = {
    500: "The relay failed to handle this request.",
    502: "Together did not give a usable answer.",
    503: "The relay is briefly unavailable; retry shortly.",
    504: "The relay could not answer in time; retry shortly.",
}
"""What a caller reads for a server-side failure: the detail (which dependency, which setting) is logged only."""


def error_response(error: RelayError) -> Response[str]:
    data = error.error_data()
    if error.status >= 500:
        data["error"]["message"] = GENERIC_MESSAGES.get(error.status, GENERIC_MESSAGES[500])
    headers = error.headers()
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = 'Bearer realm="endpoint-relay"'
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data, separators=(",", ":")),
        headers=headers,
    )


def install(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(RelayError)
    def relay_error(error: RelayError) -> Response[str]:
        level = logger.error if error.status >= 500 else logger.info
        detail = {"reason": error.message} if error.status >= 500 else {}
        level("request failed", extra={"status": error.status, "error_code": error.code, **detail})
        return error_response(error)

    @app.exception_handler(Exception)
    def unexpected_error(error: Exception) -> Response[str]:
        # Full details go to the log only; callers learn nothing about internals.
        logger.exception("unhandled error")
        return error_response(RelayError("the relay failed to handle this request"))

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        event = app.current_event
        if event.raw_path.startswith(_ENDPOINTS_PREFIX) or event.path.startswith(_ENDPOINTS_PREFIX):
            # Ids the route pattern refuses (slashes, backslashes, controls...) are bad ids, not bad routes.
            if event.request_context.http.method != "GET":
                return error_response(MethodNotAllowedError("only GET is supported here"))
            return error_response(invalid_endpoint_id())
        if event.raw_path.startswith(_V2_PREFIX) and event.request_context.http.method != "GET":
            return error_response(MethodNotAllowedError("only GET is supported here"))
        return error_response(RouteNotFoundError("no such route"))
