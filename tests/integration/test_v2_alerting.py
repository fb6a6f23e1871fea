"""Alerting on v2 endpoints end to end: the lookup hook (Alerting.observe_v2) through the DynamoDB alert table,
the Slack receiver and SNS on moto server, with the events feed in memory."""

from __future__ import annotations

import json

from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.v2_models import Endpoint
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.alerting import Alerting, build_alerting
from endpoint_relay.wiring.common import build_shared
from tests.fakes import FakeEventFeed
from tests.integration.alerting_support import AlertingHarness
from tests.unit.v2_builders import DEGRADED, EP2, FAILED, PROJECT, deployment, endpoint

KEY = f"{PROJECT}/{EP2}"
MINUTE = 60.0


def _graph(alerting: AlertingHarness, feed: FakeEventFeed) -> Alerting:
    settings = Settings.from_env()
    shared = build_shared(settings, clock=alerting.clock, deadline=Deadline())
    return build_alerting(
        settings,
        secrets=shared.secrets,
        clock=alerting.clock,
        deadline=shared.deadline,
        sinks=None,
        events=feed,
        default_project=PROJECT,
    )


def _failed() -> Endpoint:
    return endpoint(deployment(state=FAILED, ready=0))


def test_a_failed_deployment_notifies_once_on_each_sink_with_the_reason_then_resolves(
    alerting: AlertingHarness,
) -> None:
    # Given the events feed holds an ERROR event for the deployment
    feed = FakeEventFeed()
    feed.add("LEVEL_ERROR", "Readiness probe failed: model weights not found")
    graph = _graph(alerting, feed)

    # When a burst of v2 lookups sees the FAILED deployment
    for _ in range(3):
        graph.observe_v2(PROJECT, _failed())
        alerting.clock.advance(MINUTE)

    # Then one notice on each sink, naming the deployment and quoting the event
    [slack] = alerting.slack_alerts()
    [sns] = alerting.sns_alerts()
    text = json.dumps(slack)
    assert "`dep_main`" in text and "Readiness probe failed" in text and "FAILED" in text
    document = json.loads(sns["Message"])
    assert document["metadata"]["threadId"] == KEY
    assert "Readiness probe failed" in document["content"]["description"]
    # And the feed was read once, with the relay's Together key from the secret
    assert len(feed.calls) == 1 and feed.calls[0]["level"] == "LEVEL_WARN"

    # When it recovers: one resolved notice on each sink
    graph.observe_v2(PROJECT, endpoint(deployment()))
    assert len(alerting.slack_alerts()) == 2 and len(alerting.sns_alerts()) == 2
    assert alerting.slack_headers()[-1].startswith("\u2705 Resolved")


def test_a_degraded_under_replicated_deployment_notifies_and_the_mute_holds_it(alerting: AlertingHarness) -> None:
    graph = _graph(alerting, FakeEventFeed())
    short = endpoint(deployment(state=DEGRADED, ready=1, low=3))
    graph.observe_v2(PROJECT, short)
    alerting.clock.advance(11 * MINUTE)
    graph.observe_v2(PROJECT, short)
    headers = alerting.slack_headers()
    assert [header.split(":")[0] for header in headers] == ["\U0001f534 Firing", "\U0001f7e0 Changed"]
    changed = json.dumps(alerting.slack_alerts()[-1])
    assert "below its minimum of 3" in changed and "ready 1/3" in changed

    # A mute of the v2 key silences it; a failure meanwhile is not announced
    graph.mutes.mute(KEY, alerting.clock() + 3600, "U0MUTER")
    graph.observe_v2(PROJECT, _failed())
    assert len(alerting.slack_alerts()) == 2
