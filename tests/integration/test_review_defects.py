"""Regression tests for the defects an adversarial review found; each is named after its defect."""

from __future__ import annotations

import json

import pytest

from devstack.aws import put_secret
from devstack.events import http_event
from devstack.slack_receiver import ScriptedReply, SlackReceiver
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.adapters.slack_response import SlackResponder, SlackResponseError
from tests.integration.conftest import Relay
from tests.integration.slack_support import SlackHarness, reply_text

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{EP}"


# --- 7. anonymous callers learn configuration --------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}])
def test_anonymous_lookup_is_refused_without_reading_the_secret(
    relay: Relay, together: TogetherSimulator, headers: dict[str, str]
) -> None:
    # Given a relay whose secret is unusable (an operator mistake an outsider should not learn about)
    put_secret(relay.moto_endpoint, relay.secret_id, "not json")
    together.put(make_endpoint(EP))
    # When a caller without credentials asks
    response = relay.invoke(http_event("GET", PATH, headers=headers))
    # Then it is a plain 401, decided before the secret was read
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["type"] == "authentication_error"
    assert relay.secret_fetches == 0 and together.call_count() == 0


def test_server_errors_tell_callers_nothing_about_the_configuration(relay: Relay, together: TogetherSimulator) -> None:
    # Given a secret that is not JSON
    put_secret(relay.moto_endpoint, relay.secret_id, "not json")
    together.put(make_endpoint(EP))
    # When an authenticated-looking caller asks
    response = relay.get(PATH)
    # Then the 500 keeps its stable type and code, and a message that names no setting or dependency
    error = json.loads(response["body"])["error"]
    assert response["statusCode"] == 500
    assert error["code"] == "relay_misconfigured"
    assert error["message"] == "The relay failed to handle this request."
    assert "secret" not in response["body"].lower() and "json" not in response["body"].lower()


# --- 4. mutes are open to anyone by default ----------------------------------------------------------------------


def test_with_no_mute_allow_list_nobody_can_mute(
    slack_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    # Given the default: SlackMuteUserIds left empty
    slack_env["SLACK_MUTE_USER_IDS"] = ""
    slack: SlackHarness = request.getfixturevalue("slack")
    # When any workspace member tries to mute an endpoint for a week
    reply = slack.command(f"mute {EP} 7d")
    # Then it is refused, with how to allow people, and nothing is muted
    assert "SlackMuteUserIds" in reply_text(reply)
    assert slack.command(f"unmute {EP}")["response_type"] == "ephemeral"
    assert together.call_count() == 0


@pytest.mark.parametrize(
    ("allowed", "team", "may_mute"),
    [
        ("T0RELAY01:U0ONCALL1", "T0RELAY01", True),
        ("T0OTHER01:U0ONCALL1", "T0RELAY01", False),
        ("U0ONCALL1", "T0RELAY01", True),
    ],
    ids=["same-workspace", "other-workspace", "any-workspace"],
)
def test_a_team_qualified_mute_entry_is_checked_against_the_workspace(
    slack_env: dict[str, str], request: pytest.FixtureRequest, allowed: str, team: str, may_mute: bool
) -> None:
    slack_env["SLACK_MUTE_USER_IDS"] = allowed
    slack: SlackHarness = request.getfixturevalue("slack")
    reply = slack.command(f"mute {EP} 1h", team_id=team)
    assert ("not on the list" not in reply_text(reply)) is may_mute


# --- 3. Slack answers can be posted up to nine times --------------------------------------------------------------


def test_a_slack_answer_is_posted_at_most_once(slack_receiver: SlackReceiver) -> None:
    # Given Slack answers 500 (it may already show the answer), and would take a second post
    slack_receiver.script(ScriptedReply(status=500), ScriptedReply(status=200, body="ok"))
    responder = SlackResponder(["127.0.0.1"], allow_http=True)
    # When the relay posts an answer
    with pytest.raises(SlackResponseError):
        responder.post(f"{slack_receiver.url}/commands/T0/1/abc", {"text": "answer"})
    # Then it did not post it again: the failure is reported (and the follow-up lands in its failure queue)
    assert slack_receiver.messages() == []
