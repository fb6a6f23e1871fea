"""The 3-second rule: answers at hand go in the HTTP reply; slow ones are acknowledged and posted later."""

from __future__ import annotations

import json

import pytest

from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from tests.integration.slack_support import SlackHarness, mrkdwn_texts, reply_text

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{ENDPOINT_ID}"


def test_cached_endpoint_is_answered_in_the_http_reply(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given a recent lookup left the endpoint in this container's cache
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR", display_name="<!channel> *prod*"))
    assert slack.relay.get(PATH)["statusCode"] == 200
    # When someone asks for its status
    reply = slack.command(f"status {ENDPOINT_ID}")
    # Then the answer, with its findings, is in the reply itself: no follow-up, no second upstream call
    text = reply_text(reply)
    assert reply["response_type"] == "ephemeral"
    assert ENDPOINT_ID in text and "ERROR" in text
    assert "The endpoint reports a failure state" in text
    assert "<!channel>" not in text
    assert not any("*prod*" in mrkdwn for mrkdwn in mrkdwn_texts(reply))
    assert slack.invoker.events == []
    assert together.call_count(ENDPOINT_ID) == 1


def test_slow_upstream_gets_an_acknowledgement_and_the_answer_follows(
    slack_env: dict[str, str], request: pytest.FixtureRequest, together: TogetherSimulator
) -> None:
    # Given Together takes 5 s to answer (the relay's read timeout allows it) and nothing is cached
    slack_env["UPSTREAM_READ_TIMEOUT_SECONDS"] = "8"
    slack_env["UPSTREAM_MAX_RETRIES"] = "0"
    slack: SlackHarness = request.getfixturevalue("slack")
    together.put(make_endpoint(ENDPOINT_ID, state="STARTED"))
    together.latency = 5
    slack.invoker.gate.clear()  # hold the follow-up until the acknowledgement has been inspected

    # When someone asks for its status
    reply = slack.command(f"status {ENDPOINT_ID}")

    # Then the HTTP reply is an acknowledgement, given before any upstream call finished
    assert reply["response_type"] == "ephemeral"
    assert "Checking" in reply_text(reply) and ENDPOINT_ID in reply_text(reply)
    assert together.call_count() == 0
    assert [event["command"] for event in slack.invoker.events] == ["status"]
    assert slack.receiver.messages() == []

    # And the asynchronous follow-up later posts the answer to the response_url
    slack.invoker.gate.set()
    (answer,) = slack.followups(1, timeout=30)
    assert answer["response_type"] == "ephemeral"
    assert ENDPOINT_ID in reply_text(answer) and "STARTED" in reply_text(answer)
    assert together.call_count(ENDPOINT_ID) == 1
    slack.invoker.join()
    assert slack.invoker.errors == []
    assert slack.invoker.results == [{"status": "delivered"}]


def test_deferred_status_of_an_unknown_endpoint_says_so(slack: SlackHarness, together: TogetherSimulator) -> None:
    reply = slack.command(f"status {ENDPOINT_ID}")
    assert "Checking" in reply_text(reply)
    (answer,) = slack.followups(1)
    assert "does not know endpoint" in reply_text(answer)


def test_remembered_404_is_answered_at_once(slack: SlackHarness, together: TogetherSimulator) -> None:
    assert slack.relay.get(PATH)["statusCode"] == 404  # the relay now remembers the 404 for a few seconds
    reply = slack.command(f"status {ENDPOINT_ID}")
    assert "does not know endpoint" in reply_text(reply)
    assert slack.invoker.events == []


def test_upstream_failure_in_the_follow_up_is_reported_to_the_user(
    slack: SlackHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    together.inject(*[Fault(status=500)] * 3)
    slack.command(f"status {ENDPOINT_ID}")
    (answer,) = slack.followups(1)
    assert "Together gave no usable answer" in reply_text(answer)
    slack.invoker.join()
    assert slack.invoker.errors == []


def test_follow_up_and_command_share_a_correlation_id(slack: SlackHarness, together: TogetherSimulator) -> None:
    together.put(make_endpoint(ENDPOINT_ID))
    event = slack.event(f"status {ENDPOINT_ID}")
    slack.send(event)
    slack.followups(1)
    assert slack.invoker.events[0]["correlation_id"] == event["requestContext"]["requestId"]


def test_check_is_always_deferred_and_posts_a_summary(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given a watched endpoint in ERROR
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR"))
    # When someone runs a check
    reply = slack.command("check")
    # Then the reply is an acknowledgement, and the sweep's summary follows
    assert "Checking the watched endpoints" in reply_text(reply)
    (answer,) = slack.followups(1)
    text = reply_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert "Endpoint check" in text and ENDPOINT_ID in text
    assert "*1* with findings" in text
    slack.invoker.join()
    assert slack.invoker.errors == []
    assert json.loads(json.dumps(answer)) == answer


def test_a_check_is_not_a_heartbeat_of_the_sweep_schedule(
    slack: SlackHarness, together: TogetherSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a watched endpoint, and the metrics printed so far set aside
    together.put(make_endpoint(ENDPOINT_ID))
    capsys.readouterr()
    # When someone runs a check (a sweep in the Slack worker)
    slack.command("check")
    slack.followups(1)
    slack.invoker.join()
    # Then its checks are counted, but SweepsStoppedAlarm's heartbeat is the schedule's alone: checks run during an
    # incident must not hide that scheduled sweeps stopped
    metrics = capsys.readouterr().out
    assert '"SweepChecks"' in metrics
    assert '"SweepHeartbeat"' not in metrics
