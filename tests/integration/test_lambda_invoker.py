"""The boto3 invoker against moto server: an asynchronous Invoke of the Slack worker function."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from devstack.aws import aws_client
from endpoint_relay.adapters.lambda_invoker import InvokeError, LambdaInvoker
from endpoint_relay.core.slack_followup import FollowUp

FUNCTION_NAME = "relay-test-slack-worker"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "endpoint_relay/entrypoints/slack_worker.py", "def lambda_handler(event, context):\n    return {}\n"
        )
    return buffer.getvalue()


@pytest.fixture
def moto_function(moto_endpoint: str) -> Iterator[str]:
    """A dummy function on moto; moto's Docker-free backend accepts invokes without running anything."""
    answer = urllib3.request("POST", f"{moto_endpoint}/moto-api/config", json={"lambda": {"use_docker": False}})
    assert answer.status == 201
    iam = aws_client("iam", moto_endpoint)
    role = iam.create_role(
        RoleName=f"{FUNCTION_NAME}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    lambda_client = aws_client("lambda", moto_endpoint)
    lambda_client.create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.13",
        Role=role,
        Handler="endpoint_relay.entrypoints.slack_worker.lambda_handler",
        Code={"ZipFile": _zip()},
    )
    yield FUNCTION_NAME
    lambda_client.delete_function(FunctionName=FUNCTION_NAME)
    iam.delete_role(RoleName=f"{FUNCTION_NAME}-role")


def test_follow_up_is_an_asynchronous_invoke_of_the_slack_worker(moto_endpoint: str, moto_function: str) -> None:
    # Given the boto3 invoker, with every request it makes recorded
    client = aws_client("lambda", moto_endpoint)
    sent: list[dict[str, Any]] = []
    client.meta.events.register("before-call.lambda.Invoke", lambda params, **_: sent.append(params))
    invoker = LambdaInvoker(moto_function, client=client)
    followup = FollowUp(
        kind="status",
        response_url="https://hooks.slack.com/commands/T0RELAY01/1/abc",
        user_id="U0ONCALL1",
        team_id="T0RELAY01",
        endpoint_id="endpoint-abc",
        correlation_id="req-1",
    )

    # When it queues the follow-up
    invoker.invoke_async(followup.event())

    # Then moto received one Invoke of that function, InvocationType=Event, with exactly the follow-up event
    (request,) = sent
    assert request["url_path"].endswith(f"/functions/{moto_function}/invocations")
    assert request["headers"]["X-Amz-Invocation-Type"] == "Event"
    payload = json.loads(request["body"])
    assert payload == followup.event()
    assert payload["endpoint_relay"] == "slack_command"
    assert FollowUp.from_event(payload) == followup


def test_unreachable_lambda_is_an_invoke_error() -> None:
    import boto3
    from botocore.config import Config

    # Given Lambda's API cannot be reached (nothing listens on this loopback port)
    client = boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    # Then queueing the follow-up fails with the invoker's own error, which the route turns into a friendly reply
    with pytest.raises(InvokeError):
        LambdaInvoker("relay-test-relay", client=client).invoke_async({"endpoint_relay": "slack_command"})


def test_oversized_follow_up_is_refused_before_calling_lambda() -> None:
    with pytest.raises(InvokeError):
        LambdaInvoker("relay-test-relay").invoke_async({"padding": "x" * 300_000})


def test_an_unknown_own_name_is_an_invoke_error() -> None:
    with pytest.raises(InvokeError):
        LambdaInvoker(None).invoke_async({"endpoint_relay": "slack_command"})
