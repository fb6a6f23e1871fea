"""Idle spend end to end: scheduled sweeps on moto server against the simulator's analytics.

A READY deployment with no requests fires once, reminds after the repeat interval, survives lookups, and
resolves when requests appear; the analytics are read at most once per endpoint per ``idle_after_hours / 4``.
Counts, not timings: the analytics calls are the simulator's own call counts, the relay's clock is injected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from devstack.together_sim import TogetherSimulator
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from tests.integration.alerting_support import AlertingHarness

pytestmark = pytest.mark.integration

PROJECT = "proj_idle"
ENDPOINT = "ep_idle0001"
DEPLOYMENT = "dep_idle0001"
ANALYTICS = f"/v2/projects/{PROJECT}/endpoints/{ENDPOINT}/analytics"
HOURS = 8
HOUR = 3600.0


@pytest.fixture
def harness(alerting_env: dict[str, str], request: pytest.FixtureRequest) -> AlertingHarness:
    alerting_env["TOGETHER_PROJECT_ID"] = PROJECT
    alerting_env["POLICY_JSON"] = json.dumps({"defaults": {"idle_after_hours": HOURS}})
    harness: AlertingHarness = request.getfixturevalue("alerting")
    return harness


def _seed(together: TogetherSimulator, *, zero_count: str = "omit_field") -> None:
    # Created weeks before the relay's clock, READY with two replicas, and never asked anything
    deployment = make_v2_deployment(
        DEPLOYMENT, endpoint_id=ENDPOINT, project_id=PROJECT, min_replicas=2, max_replicas=2
    )
    together.v2.put_endpoint(make_v2_endpoint(ENDPOINT, project_id=PROJECT, deployments=[deployment]), [deployment])
    together.v2.zero_count = zero_count  # type: ignore[assignment]


def _headers(harness: AlertingHarness) -> list[str]:
    return [header.split(":", 1)[0] for header in harness.slack_headers()]


@pytest.mark.parametrize("zero_count", ["omit_field", "omit_object", "zero"])
def test_an_idle_deployment_fires_once_reminds_and_resolves_when_requests_appear(
    harness: AlertingHarness, together: TogetherSimulator, zero_count: str
) -> None:
    _seed(together, zero_count=zero_count)
    # When a sweep sees the deployment: one analytics call, one firing notice naming the hours
    report = harness.sweep()
    assert report["failed"] == [] and together.call_count(ANALYTICS) == 1
    [alert] = harness.slack_alerts()
    text = json.dumps(alert)
    assert "Firing" in harness.slack_headers()[0] and DEPLOYMENT in text
    assert f"served no requests in {HOURS} h while holding 2 READY replica(s)" in text
    # 2 replicas x 698 ¢/h (the simulator's catalogue) x 8 h
    assert "$111.68 spent idle (2 x $6.98/h x 8 h)" in text
    [sns] = harness.sns_alerts()
    assert "served no requests" in json.loads(sns["Message"])["content"]["description"]

    # When lookups read the endpoint between sweeps: they never resolve the sweep's verdict
    for _ in range(3):
        harness.clock.advance(60)
        response = harness.relay.get(
            f"/v2/projects/{PROJECT}/endpoints/{ENDPOINT}", headers={"Cache-Control": "no-cache"}
        )
        assert response["statusCode"] == 200
    # And sweeps within a quarter of the window reuse the answer: no call, no notice
    for _ in range(3):
        harness.clock.advance(HOURS * HOUR / 4 / 4)
        harness.sweep()
    assert together.call_count(ANALYTICS) == 1
    assert _headers(harness) == ["🔴 Firing"]

    # After the repeat interval (4 h): a reminder, from a fresh read
    harness.clock.advance(4 * HOUR)
    harness.sweep()
    assert _headers(harness) == ["🔴 Firing", "🔁 Still firing"]
    assert together.call_count(ANALYTICS) == 2

    # When requests appear, the next read (a quarter window on) resolves it
    instant = datetime.fromtimestamp(harness.clock.now, UTC)
    together.v2.add_requests(ENDPOINT, DEPLOYMENT, 3, instant)
    harness.clock.advance(HOURS * HOUR / 4)
    harness.sweep()
    assert _headers(harness) == ["🔴 Firing", "🔁 Still firing", "✅ Resolved"]
    assert together.call_count(ANALYTICS) == 3


def test_the_analytics_budget_holds_over_a_day_of_sweeps(harness: AlertingHarness, together: TogetherSimulator) -> None:
    _seed(together)
    # A sweep every 10 minutes for 24 h: at most one analytics call per quarter window (2 h) -> 12 in all
    for _ in range(24 * 6):
        harness.sweep()
        harness.clock.advance(600)
    assert together.call_count(ANALYTICS) == 24 // (HOURS // 4)


def test_a_young_deployment_is_not_asked_about(harness: AlertingHarness, together: TogetherSimulator) -> None:
    created = datetime.fromtimestamp(harness.clock.now - HOUR, UTC).isoformat().replace("+00:00", "Z")
    deployment = make_v2_deployment(DEPLOYMENT, endpoint_id=ENDPOINT, project_id=PROJECT, created_at=created)
    together.v2.put_endpoint(make_v2_endpoint(ENDPOINT, project_id=PROJECT, deployments=[deployment]), [deployment])
    harness.sweep()
    assert together.call_count(ANALYTICS) == 0 and harness.slack_alerts() == []
