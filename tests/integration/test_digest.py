"""The daily digest end to end: SweepFunction's handler, moto server (the alert table, SNS->SQS) and a
local Slack webhook receiver, on loopback. The date is the de-duplication key; a failed sink is retried
by a later invocation, and nothing is posted twice."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.events import FakeLambdaContext, load_event
from devstack.slack_receiver import ScriptedReply
from devstack.together_sim import TogetherSimulator, make_endpoint
from endpoint_relay.core.cost import Spend
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.entrypoints import sweep
from endpoint_relay.observability import Handler
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.sweep import build_sweep
from tests.integration.alerting_support import AlertingHarness
from tests.leakcheck import COLLECTOR

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
DIGEST_EVENT_TYPE = "EndpointRelayDailyDigest"


class FixedFleet:
    """Stands in for the fleet view: two v2 deployments, one of them idle."""

    def fleet(self) -> Fleet:
        def line(n: int, cents: int, replicas: int, findings: tuple[str, ...] = ()) -> FleetLine:
            return FleetLine(
                key=f"proj_demo/ep_{n}",
                endpoint_id=f"ep_{n}",
                project_id="proj_demo",
                deployment_id=f"dep_{n}",
                name=f"model-{n}",
                state="READY",
                spend=Spend("1x_nvidia_h100_80gb_sxm", replicas, cents),
                alert="ok",
                findings=findings,
            )

        return Fleet.of([line(1, 3192, 3), line(2, 500, 1, ("idle_spend",))], "2026-12-07T08:00:00Z")


@pytest.fixture
def digests(alerting_env: dict[str, str], request: pytest.FixtureRequest) -> AlertingHarness:
    alerting_env["DAILY_DIGEST"] = "true"  # sweeps retry what a digest still owes
    harness: AlertingHarness = request.getfixturevalue("alerting")
    return harness


def _handler(alerting: AlertingHarness) -> Handler:
    return sweep.create_handler(build_sweep(Settings.from_env(), clock=alerting.clock), fleet=FixedFleet())


def _invoke(handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler(event, FakeLambdaContext(remaining_ms=300_000))
    COLLECTOR.add_text(json.dumps(result))
    return result


def _digest(handler: Handler, alerting: AlertingHarness) -> dict[str, Any]:
    """The schedule's event as Scheduler fills it in: scheduled for the harness's now."""
    scheduled = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alerting.clock()))
    event = {**load_event("scheduled_digest.json"), "scheduled_time": scheduled}
    result: dict[str, Any] = _invoke(handler, event)["digest"]
    return result


def _posted(alerting: AlertingHarness) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The digests each sink received: Slack payloads, and the Amazon Q documents from SNS."""
    slack = [p for p in alerting.slack_payloads() if p["blocks"][0]["text"]["text"].startswith("\U0001f4b0")]
    documents = [json.loads(envelope["Message"]) for envelope in alerting.sns_notifications()]
    return slack, [d for d in documents if d["metadata"]["eventType"] == DIGEST_EVENT_TYPE]


def test_a_duplicate_delivery_posts_once_per_sink(digests: AlertingHarness) -> None:
    handler = _handler(digests)
    # When EventBridge delivers the day's schedule twice
    first = _digest(handler, digests)
    second = _digest(handler, digests)
    # Then each sink got the digest once
    assert first["created"] and sorted(first["posted"]) == ["slack", "sns"]
    assert not second["created"] and second["posted"] == [] and second["failed"] == {}
    slack, sns = _posted(digests)
    assert len(slack) == 1 and len(sns) == 1
    assert "$2,418.24/day" in json.dumps(slack[0], ensure_ascii=False)
    assert "$95.76/h" in json.dumps(slack[0], ensure_ascii=False)
    assert sns[0]["content"]["title"].endswith("$2,418.24/day")


def test_a_failed_sink_is_retried_later_exactly_once(digests: AlertingHarness, together: TogetherSimulator) -> None:
    handler = _handler(digests)
    together.put(make_endpoint(EP, state="STARTED", display_name="Prod chat"))
    # Given Slack answers 500 to the digest
    digests.receiver.script(ScriptedReply(status=500))
    first = _digest(handler, digests)
    assert first["failed"] == {"slack": "server_error"} and first["posted"] == ["sns"]
    assert [len(posted) for posted in _posted(digests)] == [0, 1]
    # When the next sweep runs: it posts the owed digest to Slack only
    digests.clock.advance(300)
    result = _invoke(handler, load_event("scheduled_sweep.json"))
    assert result["digests_retried"] == [{"date": first["date"], "created": False, "posted": ["slack"], "failed": {}}]
    # Then further sweeps and a late duplicate of the schedule post nothing more
    digests.clock.advance(300)
    assert _invoke(handler, load_event("scheduled_sweep.json"))["digests_retried"] == []
    assert _digest(handler, digests)["posted"] == []
    slack, sns = _posted(digests)
    assert len(slack) == 1 and len(sns) == 1
    assert slack[0]["blocks"][0]["text"]["text"].endswith(sns[0]["content"]["title"].split(": ", 1)[1])


def test_the_digest_lists_what_is_firing_from_the_alert_table(
    digests: AlertingHarness, together: TogetherSimulator
) -> None:
    handler = _handler(digests)
    # Given an endpoint in ERROR, swept: its alert fires
    together.put(make_endpoint(EP, state="ERROR", display_name="Prod chat"))
    assert _invoke(handler, {**load_event("scheduled_sweep.json"), "endpoints": [EP]})["firing"] == [EP]
    # When the digest runs, its firing list names it
    assert _digest(handler, digests)["created"]
    slack, sns = _posted(digests)
    assert EP in json.dumps(slack[0]) and EP in sns[0]["content"]["description"]
    assert "Prod chat" in json.dumps(slack[0])
