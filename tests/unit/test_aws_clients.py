"""boto3 client configuration: sweep workers must not queue on a 10-connection pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from endpoint_relay.adapters import aws_clients


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    aws_clients.configure(max_pool_connections=10)


def test_the_pool_grows_with_the_sweep_workers() -> None:
    aws_clients.configure(max_pool_connections=32)
    assert aws_clients._client_config().max_pool_connections == 32


def test_the_pool_never_shrinks_below_botocores_default() -> None:
    aws_clients.configure(max_pool_connections=4)
    assert aws_clients._client_config().max_pool_connections == 10


def test_timeouts_fail_fast() -> None:
    config = aws_clients._client_config()
    assert (config.connect_timeout, config.read_timeout) == (1, 2)
    assert aws_clients.worst_case_seconds() == 6


def test_error_code_names_the_aws_code_or_the_exception_type() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")
    assert aws_clients.error_code(throttled) == "ThrottlingException"
    assert aws_clients.error_code(ClientError({}, "GetItem")) == "ClientError"
    assert aws_clients.error_code(EndpointConnectionError(endpoint_url="http://x")) == "EndpointConnectionError"
