"""Alerting end to end: scheduled sweeps through lambda_handler, moto server (DynamoDB, SNS->SQS,
Secrets Manager, SSM), the Together simulator and a local Slack webhook receiver, on loopback."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devstack.aws import put_policy_parameter
from devstack.events import FakeLambdaContext, load_event
from devstack.slack_receiver import ScriptedReply, SlackReceiver
from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from endpoint_relay.adapters.slack_webhook import SlackSink, SlackWebhookClient
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.slack_blocks import render_messages
from endpoint_relay.entrypoints import sweep
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.api import build_api
from endpoint_relay.wiring.sweep import build_sweep
from tests.fakes import FakeClock
from tests.integration.alerting_support import AlertingHarness
from tests.leakcheck import COLLECTOR

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
OTHER = "endpoint-5e6f7a8b-0000-4c4c-9d9d-123456789abc"
PATH = f"/v1/endpoints/{EP}"
MINUTE = 60.0
HOUR = 3600.0


def _counts(alerting: AlertingHarness) -> tuple[int, int]:
    """Alerts about endpoints on each sink; mute announcements are not counted."""
    return len(alerting.slack_alerts()), len(alerting.sns_alerts())


# --- the lifecycle ----------------------------------------------------------------------------------------------


def test_lifecycle_started_error_repeats_reminder_resolved(
    alerting: AlertingHarness, together: TogetherSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a healthy endpoint, swept once
    together.put(make_endpoint(EP, state="STARTED", display_name="Prod chat"))
    assert alerting.sweep(EP)["checked"] == 1
    assert _counts(alerting) == (0, 0)

    # When it reports ERROR: exactly one firing message on each sink
    together.update(EP, state="ERROR")
    alerting.clock.advance(5 * MINUTE)
    assert alerting.sweep(EP)["notifications_sent"] == 2
    assert _counts(alerting) == (1, 1)

    # When five more sweeps see ERROR inside the repeat interval: nothing
    for _ in range(5):
        alerting.clock.advance(5 * MINUTE)
        assert alerting.sweep(EP)["notifications_sent"] == 0
    assert _counts(alerting) == (1, 1)

    # When the clock passes the repeat interval: exactly one reminder per sink
    alerting.clock.advance(4 * HOUR)
    alerting.sweep(EP)
    alerting.clock.advance(5 * MINUTE)
    alerting.sweep(EP)
    assert _counts(alerting) == (2, 2)

    # When it recovers: exactly one resolved message per sink, then silence
    together.update(EP, state="STARTED")
    alerting.clock.advance(5 * MINUTE)
    alerting.sweep(EP)
    alerting.clock.advance(5 * MINUTE)
    alerting.sweep(EP)
    assert _counts(alerting) == (3, 3)

    headers = alerting.slack_headers()
    assert [header.split(":")[0].split(" ", 1)[1] for header in headers] == ["Firing", "Still firing", "Resolved"]
    assert all("Prod chat" in header for header in headers)
    assert alerting.sns_event_types() == ["EndpointAlertFiring", "EndpointAlertReminder", "EndpointAlertResolved"]
    # Each completed sweep emitted the heartbeat the "sweeps stopped" alarm watches
    assert capsys.readouterr().out.count('"SweepHeartbeat"') >= 10


# --- duplicates and concurrency ---------------------------------------------------------------------------------


def test_twenty_concurrent_invocations_notify_once_per_sink(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    # Given a failed endpoint, and twenty warm containers (Lambda never runs two invocations in one)
    together.put(make_endpoint(EP, state="FAILED"))
    settings = Settings.from_env()
    # Clocks a millisecond apart, as real containers' are: each would issue a differently named notice.
    containers = [
        sweep.create_handler(
            build_sweep(settings, clock=FakeClock(alerting.clock.now + index / 1000), deadline=Deadline())
        )
        for index in range(20)
    ]
    event = load_event("scheduled_sweep.json")
    event["endpoints"] = [EP]
    start = threading.Barrier(len(containers))

    def invoke(handler: Any) -> dict[str, Any]:
        start.wait(timeout=10)
        result: dict[str, Any] = handler(event, FakeLambdaContext())
        return result

    # When all of them handle the same scheduled event at once
    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        results = list(pool.map(invoke, containers))

    # Then each sink got exactly one notification
    assert _counts(alerting) == (1, 1)
    assert sum(result["notifications_sent"] for result in results) == 2
    assert all(result["failed"] == [] for result in results)


def test_a_duplicated_delivery_of_the_same_event_notifies_once(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.sweep(EP)
    alerting.sweep(EP)  # EventBridge delivered the same event twice
    assert _counts(alerting) == (1, 1)


# --- failed deliveries ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [ScriptedReply(status=500), ScriptedReply(status=503, body="slow", delay=1.0)],
    ids=["slack-500", "slack-timeout"],
)
def test_a_failed_slack_delivery_is_not_recorded_as_sent_and_the_next_sweep_delivers_it(
    alerting: AlertingHarness, together: TogetherSimulator, reply: ScriptedReply
) -> None:
    # Given Slack fails the first delivery (a 500, or no answer within the read timeout)
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(reply)
    first = alerting.sweep(EP)
    # Then SNS got its notification and Slack's is still owed
    assert (first["notifications_sent"], first["delivery_failures"]) == (1, 1)
    assert _counts(alerting) == (0, 1)
    # When the next sweep runs, Slack gets the firing message, and SNS nothing more
    alerting.clock.advance(5 * MINUTE)
    second = alerting.sweep(EP)
    assert (second["notifications_sent"], second["delivery_failures"]) == (1, 0)
    assert _counts(alerting) == (1, 1)
    assert "Firing" in alerting.slack_headers()[0]


def test_a_short_retry_after_is_honoured_within_the_sweep(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(ScriptedReply(status=429, body="rate_limited", headers={"Retry-After": "1"}))
    assert alerting.sweep(EP)["notifications_sent"] == 2
    assert _counts(alerting) == (1, 1)


def test_a_retry_after_beyond_the_budget_leaves_the_message_for_the_next_sweep(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(ScriptedReply(status=429, body="rate_limited", headers={"Retry-After": "30"}))
    assert alerting.sweep(EP)["delivery_failures"] == 1
    assert _counts(alerting) == (0, 1)
    alerting.sweep(EP)
    assert _counts(alerting) == (1, 1)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "invalid_payload"), (404, "channel_not_found"), (410, "channel_is_archived")],
)
def test_a_slack_4xx_is_not_retried_is_logged_without_the_url_and_stays_owed(
    alerting: AlertingHarness, together: TogetherSimulator, status: int, code: str
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.receiver.script(ScriptedReply(status=status, body=code))
    # When the sweep meets the 4xx
    result = alerting.sweep(EP)
    # Then it did not retry (a retry would have met a 200 and been recorded), and said why, without the URL
    assert result["delivery_failures"] == 1
    assert _counts(alerting) == (0, 1)
    assert any(code in text and "Slack webhook delivery failed" in text for text in COLLECTOR.texts)
    # (the autouse leak check asserts the webhook URL and its key appear in no log line)
    # And the message is not dropped: once Slack accepts again, the next sweep delivers it
    alerting.sweep(EP)
    assert _counts(alerting) == (1, 1)


@pytest.mark.parametrize("code", ["invalid_payload", "invalid_blocks"])
def test_slack_refusing_one_message_of_a_sweep_still_delivers_the_others(
    slack_receiver: SlackReceiver, code: str
) -> None:
    # Slack answers a message that breaks a Block Kit rule with 400 invalid_blocks: that message's fault only.
    notices = [_firing(f"endpoint-{index:04d}-abcd") for index in range(40)]
    messages = render_messages(notices, _console)
    assert len(messages) > 1
    slack_receiver.script(ScriptedReply(status=400, body=code))
    results = SlackSink(SlackWebhookClient(slack_receiver.webhook_url), _console).deliver(notices)
    assert {notice_id for notice_id, error in results.items() if error} == set(messages[0].notice_ids)
    assert len(slack_receiver.messages("/services/")) == len(messages) - 1


def _firing(endpoint_id: str) -> Notice:
    return Notice(
        id=f"{endpoint_id}:firing:1",
        kind=NoticeKind.FIRING,
        endpoint=EndpointSnapshot(endpoint_id, "Chat", "org/chat", "org/model", "2x_h100", "ERROR", 0, 2, 1, 4),
        findings=(Finding("state_failed", Severity.CRITICAL, "failure state: expected not ERROR, actual ERROR"),),
        opened_at=1_800_000_000.0,
        created_at=1_800_000_060.0,
    )


def _console(endpoint_id: str) -> str:
    return f"https://api.together.ai/endpoints/{endpoint_id}"


def test_urllib3_debug_lines_about_the_webhook_are_redacted(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    alerting.sweep(EP)
    assert _counts(alerting) == (1, 1)
    assert any("POST <redacted> HTTP/1.1" in text for text in COLLECTOR.texts)


def test_without_a_webhook_in_the_secret_sns_still_delivers_and_slack_stays_owed(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    from devstack.aws import RelaySecretValues, put_secret

    relay = alerting.relay
    put_secret(
        relay.moto_endpoint, relay.secret_id, RelaySecretValues(relay.together_api_key, (relay.token,)).document()
    )
    relay.cold_start()  # a new container reads the changed secret
    together.put(make_endpoint(EP, state="ERROR"))
    result = alerting.sweep(EP)
    assert (result["notifications_sent"], result["delivery_failures"]) == (1, 1)
    assert _counts(alerting) == (0, 1)


# --- what the messages say ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected_text", "actual_text"),
    [
        ({"min_replicas": 0, "max_replicas": 2}, "expected `min_replicas` &gt;= 1", "actual `min_replicas`=0"),
        ({"min_replicas": 1, "max_replicas": 9}, "expected `max_replicas` &lt;= 4", "actual `max_replicas`=9"),
        (
            {"min_replicas": 3, "max_replicas": 2},
            "expected `min_replicas` &lt;= `max_replicas`",
            "actual `min_replicas`=3",
        ),
        ({"autoscaling": None}, "expected autoscaling with whole-number", "actual missing or unreadable"),
    ],
    ids=["below-minimum", "above-maximum", "inverted", "missing"],
)
def test_replica_bound_findings_reach_slack_and_sns_with_expected_and_actual(
    alerting_env: dict[str, str],
    together: TogetherSimulator,
    request: pytest.FixtureRequest,
    fields: dict[str, Any],
    expected_text: str,
    actual_text: str,
) -> None:
    # Given a policy expecting 1 to 4 replicas, and an endpoint outside it
    alerting_env["POLICY_JSON"] = json.dumps({"defaults": {"min_replicas": 1, "max_replicas": 4}})
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(EP, **fields))
    # When it is swept
    alerting.sweep(EP)
    # Then both messages show expected against actual
    (payload,) = alerting.slack_payloads()
    slack_text = json.dumps(payload, ensure_ascii=False).replace("\u200b", "")
    assert expected_text in slack_text and actual_text in slack_text
    (envelope,) = alerting.sns_notifications()
    description = json.loads(envelope["Message"])["content"]["description"].replace("\u200b", "")
    assert expected_text in description and actual_text in description


def test_a_hostile_display_name_reaches_slack_and_sns_escaped(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR", display_name="<!channel> *bold* <@U012AB3CD> & friends"))
    alerting.sweep(EP)
    (payload,) = alerting.slack_payloads()
    text = json.dumps(payload, ensure_ascii=False)
    mrkdwn = json.dumps([payload["text"], payload["blocks"][1:]], ensure_ascii=False)  # the header is plain_text
    for raw in ("<!channel>", "<@U012AB3CD>"):
        assert raw not in text
    assert "*bold*" not in mrkdwn
    assert "&lt;!channel&gt;" in text and "&amp; friends" in text
    (envelope,) = alerting.sns_notifications()
    assert "<!channel>" not in envelope["Message"] and "*bold*" not in envelope["Message"]


def test_half_an_emoji_in_one_name_silences_neither_that_endpoint_nor_the_others(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    # Upstream JSON may carry "\ud83d" (half an emoji); it parses to a lone surrogate that UTF-8 cannot encode.
    together.put(make_endpoint(EP, state="ERROR", display_name="Chat \ud83d support"))
    together.put(make_endpoint(OTHER, state="ERROR", display_name="Search"))
    alerting.sweep(EP, OTHER)
    (payload,) = alerting.slack_payloads()  # both notices, packed into one message
    slack_text = json.dumps(payload, ensure_ascii=False)
    assert "Chat \ufffd support" in slack_text and "Search" in slack_text
    assert len(alerting.sns_notifications()) == 2


def test_the_sns_notification_is_an_amazon_q_custom_notification(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR", display_name="Caf\u00e9 \u2615 " + "very long name " * 10))
    alerting.sweep(EP)
    (envelope,) = alerting.sns_notifications()
    subject = envelope["Subject"]
    assert subject.isprintable() and len(subject) < 100
    assert subject.startswith("[CRITICAL] Firing: Caf\u00e9 \u2615 very long name")
    document = json.loads(envelope["Message"])
    assert (document["version"], document["source"]) == ("1.0", "custom")
    assert document["content"]["textType"] == "client-markdown"
    assert document["content"]["title"] and document["content"]["description"]
    assert isinstance(document["content"]["nextSteps"], list)
    assert document["metadata"]["threadId"] == EP
    assert document["metadata"]["summary"] and document["metadata"]["eventType"] == "EndpointAlertFiring"
    attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
    assert attributes == {"severity": "critical", "endpoint_id": EP, "kind": '["state_failed"]', "status": "firing"}
    assert envelope["MessageAttributes"]["kind"]["Type"] == "String.Array"


# --- where evaluation runs ----------------------------------------------------------------------------------------


def test_http_lookups_evaluate_but_the_state_store_decides_who_hears(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    relay = alerting.relay
    # A real retrieval (MISS) evaluates the policy and notifies, once
    assert relay.get(PATH)["headers"]["X-Cache"] == "MISS"
    assert _counts(alerting) == (1, 1)
    # A cache hit does not touch DynamoDB at all
    dynamodb_calls = sum(n for call, n in relay.aws_calls.items() if call.startswith("dynamodb."))
    assert relay.get(PATH)["headers"]["X-Cache"] == "HIT"
    assert sum(n for call, n in relay.aws_calls.items() if call.startswith("dynamodb.")) == dynamodb_calls
    # Forced refreshes are retrievals too, and still add no message
    for _ in range(3):
        assert relay.get(PATH, headers={"Cache-Control": "no-cache"})["headers"]["X-Cache"] == "REFRESH"
    assert _counts(alerting) == (1, 1)
    # And the sweep agrees that it has been announced
    assert alerting.sweep(EP)["notifications_sent"] == 0


def test_the_sweep_refreshes_the_cache_for_lookups(alerting: AlertingHarness, together: TogetherSimulator) -> None:
    together.put(make_endpoint(EP, state="STARTED"))
    assert alerting.relay.get(PATH)["headers"]["X-Cache"] == "MISS"
    together.update(EP, state="STOPPING")
    alerting.sweep(EP)  # bypasses the fresh entry, and leaves Together's answer in the shared tier
    alerting.relay.cold_start()  # SweepFunction and ApiFunction share only that tier; a new container reads it
    response = alerting.relay.get(PATH)
    assert response["headers"]["X-Cache"] == "HIT"
    assert json.loads(response["body"])["state"] == "STOPPING"
    assert together.call_count(EP) == 2


# --- the sweep ------------------------------------------------------------------------------------------------------


def test_the_sample_event_sweeps_all_dedicated_endpoints(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    together.put(make_endpoint(OTHER, state="STARTED"))
    result = alerting.relay.invoke(load_event("scheduled_sweep.json"))
    assert result["checked"] == 2 and result["firing"] == [EP]
    assert together.call_count("<list>") == 1  # the list lacks autoscaling: then one GET per id
    assert together.call_count(EP) == together.call_count(OTHER) == 1
    assert _counts(alerting) == (1, 1)


def test_a_plain_scheduled_event_sweeps_the_watched_endpoints(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    alerting_env["WATCHED_ENDPOINTS"] = OTHER
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(EP, state="ERROR"))
    together.put(make_endpoint(OTHER, state="STARTED"))
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    result = alerting.relay.invoke(event)
    assert result["checked"] == 1 and together.call_count(EP) == 0


def test_per_endpoint_failures_are_reported_without_aborting_the_sweep(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    alerting_env["SWEEP_MAX_WORKERS"] = "1"  # in order, so the injected faults meet the first endpoint
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(OTHER, state="STARTED"))
    together.put(make_endpoint(EP, state="ERROR"))
    together.inject(*[Fault(status=500)] * 3)
    result = alerting.sweep(OTHER, "endpoint-gone", EP)
    failed = {item["endpoint_id"]: item["error"] for item in result["failed"]}
    assert failed.keys() == {OTHER, "endpoint-gone"}
    assert "upstream_unavailable" in failed[OTHER]
    assert failed["endpoint-gone"] == "endpoint not found"
    assert result["firing"] == [EP]
    assert _counts(alerting) == (1, 1)


def test_the_sweep_starts_no_check_when_the_invocation_is_nearly_out_of_time(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    together.put(make_endpoint(EP, state="ERROR"))
    result = alerting.sweep(EP, OTHER, remaining_ms=1_000)  # below the 5 s margin
    assert result["checked"] == 0 and result["skipped"] == [EP, OTHER]
    assert together.call_count() == 0


# --- policy source and mutes --------------------------------------------------------------------------------------


def test_the_policy_can_come_from_an_ssm_parameter(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    name = "/endpoint-relay/test/policy"
    put_policy_parameter(alerting_env["AWS_ENDPOINT_URL"], name, {"endpoints": {EP: {"max_replicas": 2}}})
    alerting_env["POLICY_PARAMETER_NAME"] = name
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(EP, min_replicas=1, max_replicas=8))
    result = alerting.sweep(EP)
    assert result["firing"] == [EP]
    attributes = alerting.sns_notifications()[0]["MessageAttributes"]
    assert json.loads(attributes["kind"]["Value"]) == ["max_replicas_above_expected"]


def test_an_invalid_policy_parameter_is_reported_naming_it(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    name = "/endpoint-relay/test/bad-policy"
    put_policy_parameter(alerting_env["AWS_ENDPOINT_URL"], name, {"defaults": {"max_replicas": "four"}})
    alerting_env["POLICY_PARAMETER_NAME"] = name
    alerting: AlertingHarness = request.getfixturevalue("alerting")
    together.put(make_endpoint(EP))
    (failure,) = alerting.sweep(EP)["failed"]
    assert name in failure["error"] and "policy.defaults.max_replicas" in failure["error"]


def test_a_mute_silences_sweeps_and_unmute_lets_the_endpoint_alert_again(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    alerts = _mutes(alerting)
    together.put(make_endpoint(EP, state="ERROR"))
    alerts.mute(EP, alerting.clock.now + HOUR, "U0123ABCD")
    assert alerts.muted_until(EP) == alerting.clock.now + HOUR
    result = alerting.sweep(EP)
    # The sweep delivers only the mute's announcement (nobody dispatched it when it was set), one per sink
    assert (result["notifications_sent"], result["suppressed"]) == (2, 1)
    assert _counts(alerting) == (0, 0)

    alerts.unmute(EP, "U0123ABCD")
    assert alerts.muted_until(EP) is None
    alerting.sweep(EP)
    assert _counts(alerting) == (1, 1)


def test_an_expired_mute_lets_the_endpoint_alert_again(alerting: AlertingHarness, together: TogetherSimulator) -> None:
    alerts = _mutes(alerting)
    together.put(make_endpoint(EP, state="ERROR"))
    alerts.mute(EP, alerting.clock.now + 10 * MINUTE, "U0123ABCD")
    alerting.sweep(EP)
    alerting.clock.advance(11 * MINUTE)
    alerting.sweep(EP)
    assert _counts(alerting) == (1, 1)


def _mutes(alerting: AlertingHarness) -> Mutes:
    return build_api(Settings.from_env(), clock=alerting.clock).shared.alerting().mutes
