"""`mute` and `unmute` from Slack, honoured by scheduled sweeps (alert state in DynamoDB on moto)."""

from __future__ import annotations

import json

import pytest

from devstack.together_sim import TogetherSimulator, make_endpoint
from tests.integration.alerting_support import AlertingHarness
from tests.integration.slack_support import SlackHarness, reply_text

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PATH = f"/v1/endpoints/{ENDPOINT_ID}"
MINUTE = 60.0
HOUR = 3600.0


def _alerts_sent(alerting: AlertingHarness) -> tuple[int, int]:
    """Alerts about the endpoint on each sink; the mute's own announcements are not counted."""
    return len(alerting.slack_alerts()), len(alerting.sns_alerts())


def test_mute_silences_sweeps_until_it_expires(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    # Given an endpoint in ERROR, muted for 2 hours from Slack
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR"))
    reply = slack.command(f"mute {ENDPOINT_ID} 2h")
    assert reply["response_type"] == "ephemeral"
    assert "muted for 2h" in reply_text(reply)

    # When sweeps check it during the mute
    alerting.sweep(ENDPOINT_ID)
    alerting.clock.advance(30 * MINUTE)
    alerting.sweep(ENDPOINT_ID)
    # Then nothing is sent on either sink
    assert _alerts_sent(alerting) == (0, 0)

    # When the mute has expired and the endpoint is still in ERROR
    alerting.clock.advance(2 * HOUR)
    result = alerting.sweep(ENDPOINT_ID)
    # Then it alerts again, once per sink
    assert result["notifications_sent"] == 2
    assert _alerts_sent(alerting) == (1, 1)
    assert ENDPOINT_ID in json.dumps(alerting.slack_alerts()[0])


def test_unmute_lets_the_next_sweep_alert(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    # Given a muted endpoint in ERROR that a sweep kept quiet about
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR"))
    slack.command(f"mute {ENDPOINT_ID} 1d")
    alerting.sweep(ENDPOINT_ID)
    assert _alerts_sent(alerting) == (0, 0)

    # When someone unmutes it from Slack
    reply = slack.command(f"unmute {ENDPOINT_ID}")
    assert "back on" in reply_text(reply)

    # Then the next sweep alerts, once per sink
    alerting.clock.advance(5 * MINUTE)
    assert alerting.sweep(ENDPOINT_ID)["notifications_sent"] == 2
    assert _alerts_sent(alerting) == (1, 1)


def test_status_shows_the_mute_and_check_marks_it(
    muting: tuple[SlackHarness, AlertingHarness], together: TogetherSimulator
) -> None:
    slack, alerting = muting
    together.put(make_endpoint(ENDPOINT_ID, state="ERROR"))
    slack.command(f"mute {ENDPOINT_ID} 30m")
    # A cached status answer mentions the mute
    assert slack.relay.get(PATH)["statusCode"] == 200
    status = reply_text(slack.command(f"status {ENDPOINT_ID}"))
    assert "muted until" in status and "<!date^" in status
    # An on-demand check reports it as muted, and sends no alert for it
    slack.command("check")
    (summary,) = slack.followups(1)
    assert ":zzz:" in reply_text(summary)
    assert _alerts_sent(alerting) == (0, 0)


def test_mute_is_allowed_for_listed_users(
    alerting_env: dict[str, str], slack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    slack_env["SLACK_MUTE_USER_IDS"] = "U0ONCALL1"
    slack: SlackHarness = request.getfixturevalue("slack")
    request.getfixturevalue("alerting")
    assert "muted for 2h" in reply_text(slack.command(f"mute {ENDPOINT_ID} 2h", user_id="U0ONCALL1"))
    assert "not on the list" in reply_text(slack.command(f"unmute {ENDPOINT_ID}", user_id="U0SOMEONE"))


def test_mute_without_an_alert_table_is_a_friendly_failure(slack: SlackHarness) -> None:
    reply = slack.command(f"mute {ENDPOINT_ID} 2h")
    assert reply["response_type"] == "ephemeral"
    assert "could not be changed" in reply_text(reply)
