"""boto3 client configuration: sweep workers must not queue on a 10-connection pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from endpoint_relay.adapters import aws_clients
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import DeadlineExceededError
from tests.fakes import FakeClock


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    aws_clients.configure()
    aws_clients.reset()


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


def test_timeouts_are_configurable_and_bound_the_worst_case() -> None:
    assert aws_clients.worst_case_seconds() == 2 * (1 + 2)
    aws_clients.configure(connect_timeout=0.5, read_timeout=1.0)
    config = aws_clients._client_config()
    assert (config.connect_timeout, config.read_timeout) == (0.5, 1.0)
    assert aws_clients.worst_case_seconds() == 2 * (0.5 + 1.0)


def test_a_call_whose_worst_case_does_not_fit_the_deadline_is_not_started() -> None:
    # Given a deadline with less left than one call's worst case (2 attempts x (1 s + 2 s))
    deadline = Deadline(FakeClock())
    deadline.arm(5_000)
    aws_clients.use_deadline(deadline)
    # When any client makes a call, then it is refused before anything is sent, naming the operation
    with pytest.raises(DeadlineExceededError, match=r"dynamodb\.GetItem"):
        aws_clients.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "x"}})


def test_a_call_that_fits_the_deadline_is_made() -> None:
    from botocore.exceptions import EndpointConnectionError

    deadline = Deadline(FakeClock())
    deadline.arm(11_000)
    aws_clients.use_deadline(deadline)
    aws_clients.configure(connect_timeout=0.2, read_timeout=0.2)
    # The suite's AWS endpoint is a closed loopback port: reaching it proves the call was started.
    with pytest.raises(EndpointConnectionError):
        aws_clients.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "x"}})
