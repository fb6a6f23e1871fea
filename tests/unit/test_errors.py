"""Every RelayError renders as the spec's ErrorData, with the right status and Retry-After."""

from __future__ import annotations

import json

import pytest

from endpoint_relay.core import errors
from endpoint_relay.core.errors import RelayError, SlackSignatureError, UpstreamError
from endpoint_relay.core.slack_signature import SignatureFailure


def _classes_in_errors_module[E: RelayError](base: type[E]) -> list[type[E]]:
    """Every subclass of ``base`` defined in errors.py (not in modules a test run happens to import)."""
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, base) and value.__module__ == errors.__name__
    ]


EXPECTED = [
    (errors.RelayError, 500, "server_error", None),
    (errors.InvalidEndpointIdError, 400, "invalid_request_error", "invalid_endpoint_id"),
    (errors.UnauthorizedError, 401, "authentication_error", "invalid_api_key"),
    (errors.EndpointNotFoundError, 404, "not_found_error", "endpoint_not_found"),
    (errors.UpstreamError, 502, "upstream_error", None),
    (errors.UpstreamAuthError, 502, "upstream_error", "upstream_auth_failed"),
    (errors.UpstreamRateLimitedError, 429, "rate_limit_error", "upstream_rate_limited"),
    (errors.UpstreamUnavailableError, 502, "upstream_error", "upstream_unavailable"),
    (errors.UpstreamBusyError, 503, "service_unavailable_error", "upstream_busy"),
    (errors.UpstreamTimeoutError, 504, "timeout_error", "upstream_timeout"),
    (errors.InvalidUpstreamResponseError, 502, "upstream_error", "upstream_invalid_response"),
    (errors.ConfigurationError, 500, "server_error", "relay_misconfigured"),
    (errors.SecretUnavailableError, 503, "service_unavailable_error", "relay_secret_unavailable"),
    (errors.RouteNotFoundError, 404, "not_found_error", "route_not_found"),
    (errors.MethodNotAllowedError, 405, "invalid_request_error", "method_not_allowed"),
]


@pytest.mark.parametrize(("cls", "status", "error_type", "code"), EXPECTED, ids=[row[0].__name__ for row in EXPECTED])
def test_each_error_class_has_its_status_type_and_code(
    cls: type[RelayError], status: int, error_type: str, code: str | None
) -> None:
    error = cls("something went wrong", param="endpointId")

    assert error.status == status
    assert error.error_data() == {
        "error": {"message": "something went wrong", "type": error_type, "param": "endpointId", "code": code}
    }


@pytest.mark.parametrize("cls", _classes_in_errors_module(RelayError), ids=lambda cls: cls.__name__)
def test_every_error_class_renders_the_error_data_shape(cls: type[RelayError]) -> None:
    # Covers classes added to errors.py later too: the body must always match the spec's ErrorData.
    # A signature failure takes a reason for the logs and always tells the caller the same thing.
    fixed_message = cls is SlackSignatureError
    error = SlackSignatureError(SignatureFailure.MISMATCH) if fixed_message else cls("plain message")
    body = json.loads(error.body())

    assert list(body) == ["error"]
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] == ("unauthorized" if fixed_message else "plain message")
    assert isinstance(body["error"]["type"], str) and body["error"]["type"]
    assert body["error"]["param"] is None
    assert body["error"]["code"] is None or isinstance(body["error"]["code"], str)
    assert 400 <= error.status <= 599
    assert cls.__name__.endswith("Error")
    assert str(error) == body["error"]["message"]


def test_body_is_compact_json_of_the_error_data() -> None:
    error = errors.EndpointNotFoundError("endpoint not found", param="endpointId")
    assert error.body() == (
        '{"error":{"message":"endpoint not found","type":"not_found_error","param":"endpointId",'
        '"code":"endpoint_not_found"}}'
    )


def test_messages_with_quotes_and_unicode_stay_valid_json() -> None:
    error = errors.RelayError('a "quoted" message \u2013 with\nnewline')
    assert json.loads(error.body())["error"]["message"] == 'a "quoted" message \u2013 with\nnewline'


def test_no_retry_after_means_no_headers() -> None:
    assert errors.UpstreamUnavailableError("down").headers() == {}


@pytest.mark.parametrize(
    ("cls", "seconds"),
    [(errors.UpstreamRateLimitedError, 1), (errors.UpstreamBusyError, 120), (errors.SecretUnavailableError, 1)],
)
def test_retry_after_becomes_a_header_in_whole_seconds(cls: type[RelayError], seconds: int) -> None:
    error = cls("come back later", retry_after=seconds)
    assert error.retry_after == seconds
    assert error.headers() == {"Retry-After": str(seconds)}
    # The header never leaks into the body.
    assert "Retry" not in error.body()


def test_headers_are_a_fresh_dict_each_time() -> None:
    # The HTTP layer adds WWW-Authenticate to the dict it gets; that must not stick to the error.
    error = errors.UpstreamBusyError("busy", retry_after=5)
    error.headers()["WWW-Authenticate"] = "Bearer"
    assert error.headers() == {"Retry-After": "5"}


def test_upstream_error_kinds_are_distinct_metric_labels() -> None:
    kinds = [cls.kind for cls in _classes_in_errors_module(UpstreamError)]
    assert len(kinds) == len(set(kinds))
    assert all(kind.replace("_", "").isalpha() and kind.islower() for kind in kinds)
    assert errors.UpstreamTimeoutError.kind == "timeout"
    assert errors.UpstreamAuthError.kind == "auth"


def test_upstream_errors_are_relay_errors() -> None:
    for cls in _classes_in_errors_module(UpstreamError):
        assert issubclass(cls, RelayError)
    assert not issubclass(errors.EndpointNotFoundError, UpstreamError)  # a 404 is an answer, not a failure
