"""Abuse controls on the slash command: `check` cannot be used as an amplifier, and a signed request works once.

Both rest on conditional puts into the cache table (moto server), so they hold across containers;
without a table each container holds them for itself.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from devstack.aws import aws_client
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.lambda_invoker import InvokeError
from tests.fakes import FakeClock
from tests.integration.alerting_support import AlertingHarness
from tests.integration.slack_support import TEAM_ID, SlackHarness, reply_text

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
OTHER_TEAM = "T0OTHER99"
BUSY = "already running in this workspace"
BARE_401 = {
    "error": {"message": "unauthorized", "type": "authentication_error", "param": None, "code": "invalid_signature"}
}
STARTED = "Checking the watched endpoints"


def _check(slack: SlackHarness, **options: Any) -> str:
    return reply_text(slack.command("check", **options))


def _sweeps_started(slack: SlackHarness) -> int:
    return sum(1 for event in slack.invoker.events if event.get("command") == "check")


def _lease_item(slack: SlackHarness, key: str) -> dict[str, Any] | None:
    client = aws_client("dynamodb", slack.relay.moto_endpoint)
    item = client.get_item(TableName=slack.relay.table_name, Key=dynamo.attributes({"pk": key})).get("Item")
    return dynamo.plain(item) if item else None


# -- `check` is an amplifier ----------------------------------------------------------------------------------------


def test_check_is_an_amplifier_so_a_second_check_within_the_cooldown_is_refused(
    slack: SlackHarness, together: TogetherSimulator
) -> None:
    # Given a watched endpoint, and a check that ran
    together.put(make_endpoint(ENDPOINT_ID))
    assert STARTED in _check(slack)
    slack.followups(1)
    calls_after_first = together.call_count()
    # When someone in the same workspace asks for another check at once
    reply = slack.command("check")
    # Then they are told politely, and only them, that a check is running or ran recently; nothing is refreshed
    assert reply["response_type"] == "ephemeral"
    assert BUSY in reply_text(reply) and "5m" in reply_text(reply)
    slack.invoker.join()
    assert _sweeps_started(slack) == 1
    assert together.call_count() == calls_after_first


def test_the_check_cooldown_holds_across_containers(slack: SlackHarness, together: TogetherSimulator) -> None:
    # Given a check that ran in one container
    assert STARTED in _check(slack)
    slack.invoker.join()
    # When the next check reaches a new container
    slack.relay.cold_start()
    # Then the table, not the container's memory, holds it off until the cooldown ends
    assert BUSY in _check(slack)
    assert _sweeps_started(slack) == 1
    item = _lease_item(slack, f"#check#{TEAM_ID}")
    assert item is not None and float(item["expires_at"]) >= time.time() + 250


def test_another_workspace_may_check_meanwhile(slack: SlackHarness) -> None:
    assert STARTED in _check(slack)
    assert STARTED in _check(slack, team_id=OTHER_TEAM)
    slack.invoker.join()
    assert _sweeps_started(slack) == 2


def test_a_check_runs_again_once_the_cooldown_has_passed(
    slack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    # Given a 2-minute cooldown and a relay clock the test moves
    slack_env["SLACK_CHECK_COOLDOWN_SECONDS"] = "120"
    slack: SlackHarness = request.getfixturevalue("slack")
    clock = FakeClock(time.time())
    slack.relay.clock = clock
    assert STARTED in _check(slack)
    # When a minute has passed, and then the rest of the cooldown
    clock.advance(60)
    busy = _check(slack)
    clock.advance(61)
    again = _check(slack)
    # Then the second check is refused (the reply names the cooldown) and the third runs
    assert BUSY in busy and "2m" in busy
    assert STARTED in again
    slack.invoker.join()
    assert _sweeps_started(slack) == 2


def test_a_check_that_could_not_be_queued_does_not_hold_off_the_next(
    slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the worker could not be invoked for the first check
    queue = slack.invoker.invoke_async

    def refuse_once(payload: Any) -> None:
        monkeypatch.setattr(slack.invoker, "invoke_async", queue)
        raise InvokeError("throttled")

    monkeypatch.setattr(slack.invoker, "invoke_async", refuse_once)
    assert "could not start that check" in _check(slack)
    # Then asking again "in a moment", as the reply says, starts it
    assert STARTED in _check(slack)
    slack.invoker.join()
    assert _sweeps_started(slack) == 1


def test_without_a_cache_table_a_container_still_limits_its_own_checks(
    slack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    slack_env["CACHE_TABLE_NAME"] = ""
    slack: SlackHarness = request.getfixturevalue("slack")
    assert STARTED in _check(slack)
    assert BUSY in _check(slack)
    slack.invoker.join()
    assert _sweeps_started(slack) == 1
    assert slack.relay.aws_calls["dynamodb.PutItem"] == 0


# -- replayed Slack requests ----------------------------------------------------------------------------------------


def _assert_bare_401(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == BARE_401


def test_a_replayed_slack_request_cannot_re_mute(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    # Given an endpoint in ERROR that was muted from Slack, and then unmuted
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR"))
    mute = slack.event(f"mute {ENDPOINT_ID} 1d")
    assert slack.send(mute)["statusCode"] == 200
    assert "back on" in reply_text(slack.command(f"unmute {ENDPOINT_ID}"))
    # When someone who captured the mute request sends it again, inside Slack's five-minute window
    replayed = slack.send(mute)
    # Then it gets the same bare 401 as a bad signature, and the endpoint stays unmuted: the next sweep alerts
    _assert_bare_401(replayed)
    assert alerting.sweep(ENDPOINT_ID)["notifications_sent"] == 2


def test_a_replay_is_refused_by_another_container_too(slack: SlackHarness) -> None:
    event = slack.event("help")
    assert slack.send(event)["statusCode"] == 200
    slack.relay.cold_start()
    _assert_bare_401(slack.send(event))


def test_only_a_verified_signature_is_recorded(slack: SlackHarness) -> None:
    # Given a genuine request, first sent with its body tampered (so its signature does not verify)
    genuine = slack.event("help")
    tampered = json.loads(json.dumps(genuine))
    body = base64.b64decode(tampered["body"]).replace(b"text=help", b"text=check")
    tampered["body"] = base64.b64encode(body).decode()
    _assert_bare_401(slack.send(tampered))
    # Then the genuine request is still accepted: the tampered one's signature was never stored
    assert slack.send(genuine)["statusCode"] == 200
    assert slack.relay.aws_calls["dynamodb.PutItem"] == 1


def test_without_a_cache_table_a_container_still_refuses_replays(
    slack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    slack_env["CACHE_TABLE_NAME"] = ""
    slack: SlackHarness = request.getfixturevalue("slack")
    event = slack.event("help")
    assert slack.send(event)["statusCode"] == 200
    _assert_bare_401(slack.send(event))
