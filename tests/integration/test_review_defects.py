"""Regression tests for the defects an adversarial review found; each is named after its defect."""

from __future__ import annotations

import json
import time

import pytest

from devstack.aws import put_secret
from devstack.events import http_event
from devstack.slack_receiver import ScriptedReply, SlackReceiver
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.adapters.slack_response import SlackResponder, SlackResponseError
from endpoint_relay.core.alerting import MAX_PERMANENT_REFUSALS
from tests.integration.alerting_support import AlertingHarness
from tests.integration.conftest import Relay
from tests.integration.slack_support import TEAM_ID, USER_ID, SlackHarness, reply_text

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{EP}"
MINUTE = 60.0
HOUR = 3600.0


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


# --- alerts: a stale FIRING notice is sent after a mute ends, and is never resolved -------------------------------


def test_a_stale_firing_notice_is_not_sent_after_a_mute_ends(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    # Given an endpoint in ERROR whose FIRING notice Slack failed to take once (SNS took it)
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(ScriptedReply(status=500))
    assert alerting.sweep(EP)["delivery_failures"] == 1
    assert (len(alerting.slack_alerts()), len(alerting.sns_alerts())) == (0, 1)
    # When it is muted for an hour, recovers to STARTED, and the clock moves an hour on
    assert "muted for 1h" in reply_text(slack.command(f"mute {EP} 1h"))
    together.update(EP, state="STARTED")
    alerting.sweep(EP)
    alerting.clock.advance(HOUR)
    alerting.sweep(EP)
    alerting.clock.advance(5 * MINUTE)
    alerting.sweep(EP)
    # Then the channel never gets the old FIRING for the healthy endpoint (nor a RESOLVED it would then need)
    assert alerting.slack_alerts() == []
    assert alerting.sns_event_types().count("EndpointAlertFiring") == 1


# --- alerts: permanent delivery errors are never retired -----------------------------------------------------------


def test_a_permanently_refused_notice_is_retired_after_bounded_attempts(
    alerting: AlertingHarness,
    together: TogetherSimulator,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given Slack refuses every post as an invalid payload (a permanent refusal)
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(*[ScriptedReply(status=400, body="invalid_payload")] * (MAX_PERMANENT_REFUSALS + 2))
    # When sweeps keep running inside the repeat interval
    failures = []
    for _ in range(MAX_PERMANENT_REFUSALS + 2):
        failures.append(alerting.sweep(EP)["delivery_failures"])
        alerting.clock.advance(5 * MINUTE)
    # Then Slack was tried MAX_PERMANENT_REFUSALS times, then the notice was retired for Slack (SNS has it)
    assert failures == [1] * MAX_PERMANENT_REFUSALS + [0, 0]
    assert alerting.slack_payloads() == [] and alerting.sns_event_types() == ["EndpointAlertFiring"]
    # with an error log and the metric the DeliveryAbandonedAlarm watches
    abandoned = [record.__dict__ for record in caplog.records if "abandoned" in record.getMessage()]
    assert [(r["levelname"], r["sink"], r["error_kind"]) for r in abandoned] == [("ERROR", "slack", "invalid_payload")]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert sum(sum(line.get("DeliveryAbandoned", [])) for line in lines) == 1
    assert [line["sink"] for line in lines if "DeliveryAbandonedBySink" in line] == ["slack"]


def test_a_transient_delivery_failure_is_never_retired(alerting: AlertingHarness, together: TogetherSimulator) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(*[ScriptedReply(status=503)] * (MAX_PERMANENT_REFUSALS + 2))
    for _ in range(MAX_PERMANENT_REFUSALS + 2):
        assert alerting.sweep(EP)["delivery_failures"] == 1
        alerting.clock.advance(5 * MINUTE)
    assert alerting.sweep(EP)["notifications_sent"] == 1
    assert len(alerting.slack_alerts()) == 1


# --- alerts: mutes and unmutes are not announced --------------------------------------------------------------------


def test_every_mute_and_unmute_is_announced_once_per_sink(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    actor = f"slack:{TEAM_ID}:{USER_ID}"
    together.put(make_endpoint(EP, state="ERROR"))
    # When someone mutes the endpoint for 2 hours from Slack
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(alerting.clock.now + 2 * HOUR))
    slack.command(f"mute {EP} 2h")
    # Then each sink announces it once: who, which endpoint, until when (UTC), identifiers in code spans
    (header,) = alerting.slack_announcements()
    assert header.endswith(f"Muted: {EP}")
    (message,) = [json.dumps(p) for p in alerting.slack_payloads() if p["blocks"][0]["text"]["text"] == header]
    assert f"`{actor}`" in message and f"`{EP}`" in message and until in message
    (muted,) = alerting.sns_announcements()
    assert muted["metadata"]["eventType"] == "EndpointAlertMuted"
    description = muted["content"]["description"]
    assert f"`{actor}`" in description and f"`{EP}`" in description and until in description
    # and sweeps during the mute repeat nothing
    alerting.sweep(EP)
    alerting.clock.advance(5 * MINUTE)
    alerting.sweep(EP)
    assert (len(alerting.slack_announcements()), len(alerting.sns_announcements())) == (1, 1)

    # When it is unmuted: one more announcement per sink, and alerting resumes
    slack.command(f"unmute {EP}")
    assert [h.split(" ", 1)[1] for h in alerting.slack_announcements()] == [f"Muted: {EP}", f"Unmuted: {EP}"]
    assert [d["metadata"]["eventType"] for d in alerting.sns_announcements()] == [
        "EndpointAlertMuted",
        "EndpointAlertUnmuted",
    ]
    assert f"`{actor}`" in alerting.sns_announcements()[1]["content"]["description"]
    alerting.sweep(EP)
    assert (len(alerting.slack_alerts()), len(alerting.sns_alerts())) == (1, 1)
    assert (len(alerting.slack_announcements()), len(alerting.sns_announcements())) == (2, 2)
