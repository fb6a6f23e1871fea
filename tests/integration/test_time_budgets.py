"""Time budgets that hold: a long sweep still delivers, a slow AWS never turns a lookup into a timeout,
a lost Slack answer lands in the failure destination, and policy errors are answered politely."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.aws import aws_client, start_linearizable_moto_server
from devstack.events import FakeLambdaContext, http_event, load_event
from devstack.local_lambda import WORKER, LocalLambda, destination_record
from devstack.slack_receiver import ScriptedReply
from devstack.together_sim import TogetherSimulator, make_endpoint
from tests.integration.alerting_support import AlertingHarness
from tests.integration.conftest import Relay
from tests.integration.slack_support import SlackHarness, reply_text

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"


# --- a long sweep always delivers -------------------------------------------------------------------------------------


def test_two_sweeps_check_every_endpoint_and_deliver_every_owed_notice_once(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    # Given 30 endpoints in ERROR, Together answering in 3 s, and a budget too small to check them all in one sweep
    alerting_env["SWEEP_MAX_WORKERS"] = "15"
    alerting_env["UPSTREAM_READ_TIMEOUT_SECONDS"] = "4"
    # Slack timeouts with room for a loaded CI machine: worst case 2 x 1 s Retry-After + 2 x 1 s connect + 2 s read
    # + 1 s = 7 s, so the delivery reserve is 7 s + 6 s (one AWS call to record the outcome) = 13 s.
    alerting_env.update(
        SLACK_CONNECT_TIMEOUT_SECONDS="1", SLACK_READ_TIMEOUT_SECONDS="2", SLACK_MAX_RETRY_AFTER_SECONDS="1"
    )
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    targets = [f"endpoint-slow-{index:02d}" for index in range(30)]
    for target in targets:
        together.put(make_endpoint(target, state="ERROR"))
    # A warm container, as scheduled sweeps find it: its AWS clients and the secret exist already, so creating them
    # (hundreds of ms on a busy machine, one at a time under the clients' lock) does not eat the 1.5 s window below.
    together.put(make_endpoint(EP))
    assert alerting.sweep(EP, remaining_ms=27_500)["firing"] == []
    together.latency = 3.0
    # When two sweeps run, each with 27.5 s: 2 s kept for the end and 13 s for delivery leave 12.5 s for checks,
    # and a check starts only with 11 s left (one 1+4 s Together attempt, then 6 s for its AWS calls). So the first
    # 15 checks start at once and the next could start only after Together's 3 s: one round per sweep, whatever
    # the machine's load (the margins are 1.5 s and 1.5 s against a 3 s answer).
    first = alerting.sweep(*targets, remaining_ms=27_500)
    second = alerting.sweep(*targets, remaining_ms=27_500)
    # Then the first had to skip half, and the second started with them
    assert len(first["skipped"]) == 15, "the budget was meant to fit one round of 15 checks"
    assert second["skipped"] != first["skipped"]
    checked = _checked(first) | _checked(second)
    assert checked == set(targets)
    # And every owed notice reached each sink exactly once
    headers = [
        block["text"]["text"]
        for payload in alerting.slack_payloads()
        for block in payload["blocks"]
        if block["type"] == "header" and "Firing" in block["text"]["text"]
    ]
    assert len(headers) == 30 == len(set(headers))
    assert alerting.sns_event_types().count("EndpointAlertFiring") == 30
    assert first["notifications_sent"] + second["notifications_sent"] == 60


def _checked(summary: dict[str, Any]) -> set[str]:
    assert summary["failed"] == []
    return set(summary["firing"])


# --- a lookup never times out -----------------------------------------------------------------------------------------

AWS_DELAY = 1.9
"""Just under the relay's 2 s AWS read timeout: every call succeeds, slowly."""


@pytest.fixture
def slow_aws(alerting_env: dict[str, str]) -> Iterator[str]:
    server, url = start_linearizable_moto_server(delay=AWS_DELAY)
    alerting_env["AWS_ENDPOINT_URL"] = url
    yield url
    server.stop()


def test_a_lookup_answers_or_fails_cleanly_before_the_function_timeout_when_every_aws_call_is_slow(
    slow_aws: str, together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    # Given every AWS dependency (secret, shared cache, alert table, SNS) answering just under its timeout
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(EP, state="ERROR"))  # an alert to record and deliver on the lookup's path
    budget_ms = 8_000  # the old code, without deadlines, needed about 9.5 s here (five slow AWS calls)
    context = FakeLambdaContext(remaining_ms=budget_ms)
    # When a lookup arrives with the function's time budget
    started = time.monotonic()
    response = alerting.relay.invoke(
        http_event("GET", f"/v1/endpoints/{EP}", headers={"Authorization": f"Bearer {alerting.relay.token}"}),
        context,
    )
    elapsed_ms = (time.monotonic() - started) * 1000
    # Then it answered, or failed with a clean ErrorData, before the function would have timed out
    assert elapsed_ms < budget_ms, f"took {elapsed_ms:.0f} ms of a {budget_ms} ms budget"
    assert response["statusCode"] in (200, 503, 504)
    if response["statusCode"] != 200:
        assert set(json.loads(response["body"])["error"]) == {"message", "type", "param", "code"}


def test_with_no_time_for_the_secret_a_lookup_is_a_504_without_any_call(
    relay: Relay, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP))
    path = f"/v1/endpoints/{EP}"
    response = relay.invoke(
        http_event("GET", path, headers={"Authorization": f"Bearer {relay.token}"}), FakeLambdaContext(2_000)
    )
    assert response["statusCode"] == 504
    assert json.loads(response["body"])["error"]["code"] == "relay_deadline_exceeded"
    assert relay.secret_fetches == 0 and together.call_count() == 0


def test_an_answer_fetched_with_too_little_time_left_to_share_it_is_still_served(
    relay_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    # Given a warm container, and Together answering in 3 s (inside its 4 s read timeout)
    relay_env["UPSTREAM_READ_TIMEOUT_SECONDS"] = "4"
    relay: Relay = request.getfixturevalue("relay")
    together.put(make_endpoint(EP))
    assert relay.invoke(http_event("GET", "/healthz"))["statusCode"] == 200
    together.latency = 3.0
    # When a lookup has 7.5 s after the answer reserve: enough for the secret, the shared read and Together, but
    # not for the worst case of one more AWS call (6 s) once Together has answered
    response = relay.invoke(
        http_event("GET", f"/v1/endpoints/{EP}", headers={"Authorization": f"Bearer {relay.token}"}),
        FakeLambdaContext(remaining_ms=8_500),
    )
    # Then the caller gets Together's answer; only the shared tier goes without it
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["id"] == EP
    assert together.call_count() == 1


# --- a lost Slack answer is visible -----------------------------------------------------------------------------------


def test_a_follow_up_whose_post_fails_lands_in_the_failure_destination(
    slack: SlackHarness, together: TogetherSimulator, moto_endpoint: str
) -> None:
    # Given the worker's OnFailure destination (an SQS queue) and a response_url that answers 500
    sqs = aws_client("sqs", moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"worker-failures-{time.monotonic_ns()}")["QueueUrl"]

    def send_to_destination(kind: str, event: dict[str, Any], error: BaseException) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(destination_record(kind, event, error)))

    functions = LocalLambda(lambda kind: slack.relay.functions._handler_for(kind), on_failure=send_to_destination)
    together.put(make_endpoint(EP))
    slack.receiver.script(*[ScriptedReply(status=500)] * 5)
    event = load_event("slack_followup.json")
    event.update(response_url=slack.response_url, endpoint_id=EP)
    # When Lambda runs the follow-up asynchronously and the post fails
    functions.invoke_async(event, function=WORKER)
    assert functions.wait_idle(30)
    # Then the event is in the failure destination, with what is needed to replay it
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    (record,) = [json.loads(message["Body"]) for message in messages]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["command"] == "status" and record["requestPayload"]["endpoint_id"] == EP


# --- policy errors are answered ---------------------------------------------------------------------------------------


def test_a_policy_error_on_the_slack_paths_is_a_polite_reply(
    slack_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    # Given a policy parameter that does not exist
    slack_env["POLICY_PARAMETER_NAME"] = "/endpoint-relay/test/missing-policy"
    slack: SlackHarness = request.getfixturevalue("slack")
    together.put(make_endpoint(EP))
    # When a status is answered by the worker (nothing cached), and another at once from ApiFunction's fresh cache
    first = slack.command(f"status {EP}")
    (followup,) = slack.followups(1)
    assert slack.relay.get(f"/v1/endpoints/{EP}")["statusCode"] == 200  # a lookup answers regardless
    second = slack.command(f"status {EP}")
    # Then both get a polite ephemeral reply: never a 500, never a follow-up that does not come
    assert "Checking" in reply_text(first)
    assert "could not evaluate its policy" in reply_text(followup)
    assert second["response_type"] == "ephemeral"
    assert "try again" in reply_text(second)
