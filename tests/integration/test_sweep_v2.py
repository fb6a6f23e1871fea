"""The sweep over v2 endpoints against the simulator and moto: list pages, not GETs; the cache filled; v1 retired.

Counts, not timings: upstream calls are the simulator's own call counts.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.together_sim import TogetherSimulator
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint, make_v2_event
from endpoint_relay.adapters.together import TogetherClient
from endpoint_relay.app.v2_listing import page_size
from endpoint_relay.core.errors import UpstreamAuthError, V1RetiredError
from endpoint_relay.settings import UpstreamSettings
from tests.integration.alerting_support import AlertingHarness

pytestmark = pytest.mark.integration

PROJECT = "proj_sweep"
COUNT = 250
LIST = f"/v2/projects/{PROJECT}/endpoints"
BROKEN = "ep_sweep0007"


def _seed(together: TogetherSimulator, *, failed: str | None = None) -> None:
    for index in range(COUNT):
        endpoint_id = f"ep_sweep{index:04d}"
        state = "DEPLOYMENT_STATE_FAILED" if endpoint_id == failed else "DEPLOYMENT_STATE_READY"
        deployment = make_v2_deployment(
            f"dep_sweep{index:04d}", endpoint_id=endpoint_id, project_id=PROJECT, state=state, message="OOM"
        )
        together.v2.put_endpoint(
            make_v2_endpoint(endpoint_id, project_id=PROJECT, deployments=[deployment]), [deployment]
        )


@pytest.fixture
def harness(alerting_env: dict[str, str], request: pytest.FixtureRequest) -> AlertingHarness:
    alerting_env["TOGETHER_PROJECT_ID"] = PROJECT
    harness: AlertingHarness = request.getfixturevalue("alerting")
    return harness


def _per_endpoint_gets(together: TogetherSimulator) -> int:
    return sum(together.call_count(f"{LIST}/ep_sweep{index:04d}") for index in range(COUNT))


def test_sweep_all_lists_pages_fills_the_cache_and_notifies_a_failed_deployment_once(
    harness: AlertingHarness, together: TogetherSimulator
) -> None:
    # Given 250 v2 endpoints, one with a FAILED deployment and an ERROR event saying why
    _seed(together, failed=BROKEN)
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    together.v2.add_events(
        make_v2_event(
            BROKEN,
            created_at=now,
            level="LEVEL_ERROR",
            event_type="deployment.failed",
            deployment_id="dep_sweep0007",
            message="CUDA out of memory on replica 0",
            project_id=PROJECT,
        )
    )
    size = page_size(UpstreamSettings().max_response_bytes)
    # When the sweep checks "all"
    report = harness.sweep()
    # Then it made ⌈250/page⌉ list calls, one events call for the newly firing endpoint, and no per-endpoint GET
    assert together.call_count(LIST) == math.ceil(COUNT / size)
    assert together.call_count(f"{LIST}/{BROKEN}/events") == 1
    assert _per_endpoint_gets(together) == 0
    assert report["checked"] == COUNT and report["failed"] == []
    # And the FAILED deployment notified once
    assert len(harness.slack_alerts()) == 1
    assert BROKEN in str(harness.slack_alerts()[0])
    assert "CUDA out of memory on replica 0" in str(harness.slack_alerts()[0])
    # And a lookup of a listed endpoint is a cache hit, with no upstream call
    response = harness.relay.get(f"{LIST}/ep_sweep0100")
    assert response["statusCode"] == 200 and response["headers"]["X-Cache"] == "HIT"
    assert together.call_count(f"{LIST}/ep_sweep0100") == 0
    # When the sweep runs again unchanged: no second notice
    harness.sweep()
    assert len(harness.slack_alerts()) == 1
    # When the deployment recovers, the next sweep resolves it
    _seed(together)
    harness.sweep()
    assert any("resolved" in header.lower() for header in harness.slack_headers())


def test_watched_v2_targets_are_fetched_through_the_cache(
    harness: AlertingHarness, together: TogetherSimulator
) -> None:
    _seed(together)
    report = harness.sweep("ep_sweep0001", f"{PROJECT}/ep_sweep0002")
    assert report["checked"] == 2 and report["failed"] == []
    assert together.call_count(f"{LIST}/ep_sweep0001") == 1 and together.call_count(LIST) == 0
    # The sweep left Together's answer for lookups
    assert harness.relay.get(f"{LIST}/ep_sweep0002")["headers"]["X-Cache"] == "HIT"


def test_a_retired_v1_is_logged_once_and_v2_is_still_swept(
    harness: AlertingHarness,
    together: TogetherSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _seed(together)
    together.v1_retired = 403
    caplog.set_level(logging.WARNING)
    reports: list[Any] = [harness.sweep(), harness.sweep()]
    retired = [r for r in caplog.records if "v1 endpoint API is retired" in r.getMessage()]
    assert len(retired) == 1
    assert all(report["checked"] == COUNT and report["failed"] == [] for report in reports)
    assert together.call_count("<v1 retired>") == 1  # asked once; the container then leaves v1 alone


@pytest.mark.parametrize("status", [403, 404, 410])
def test_the_v1_list_reads_a_retired_v1_as_retired(together: TogetherSimulator, status: int) -> None:
    client = TogetherClient(UpstreamSettings(base_url=together.base_url, backoff_factor=0.0))
    key = next(iter(together.api_keys))
    together.v1_retired = status
    with pytest.raises(V1RetiredError):
        client.list_endpoint_ids(key)


def test_a_rejected_key_on_the_v1_list_is_still_an_auth_failure(together: TogetherSimulator) -> None:
    client = TogetherClient(UpstreamSettings(base_url=together.base_url, backoff_factor=0.0))
    with pytest.raises(UpstreamAuthError):
        client.list_endpoint_ids("not-a-key")


@pytest.mark.parametrize("experiments", [10, 9])
def test_a_live_deployment_older_than_the_ten_embedded_raises_no_not_running_alarm(
    alerting_env: dict[str, str], request: pytest.FixtureRequest, together: TogetherSimulator, experiments: int
) -> None:
    # Given production expected running, served by its oldest deployment, with newer stopped experiments
    alerting_env["TOGETHER_PROJECT_ID"] = PROJECT
    alerting_env["POLICY_JSON"] = json.dumps({"defaults": {"expected_state": "running", "min_replicas": 0}})
    harness: AlertingHarness = request.getfixturevalue("alerting")
    endpoint_id = "ep_sweep0000"
    # The control: production among the embedded ones, and stopped
    state = "DEPLOYMENT_STATE_READY" if experiments == 10 else "DEPLOYMENT_STATE_STOPPED"
    prod = make_v2_deployment(
        "dep_prod", endpoint_id=endpoint_id, project_id=PROJECT, state=state, created_at="2026-01-01T00:00:00Z"
    )
    stopped = [
        make_v2_deployment(
            f"dep_exp{n}",
            endpoint_id=endpoint_id,
            project_id=PROJECT,
            state="DEPLOYMENT_STATE_STOPPED",
            min_replicas=0,
            max_replicas=0,
            created_at=f"2026-02-{n + 1:02d}T00:00:00Z",
        )
        for n in range(experiments)
    ]
    every = [prod, *stopped]
    split = [{"deploymentId": "dep_prod", "weight": 1}]
    together.v2.put_endpoint(
        make_v2_endpoint(endpoint_id, project_id=PROJECT, deployments=every, traffic_split=split), every
    )
    # When two sweeps run beyond the running grace
    harness.sweep()
    harness.clock.advance(11 * 60)
    report = harness.sweep()
    # Then an unseen live deployment is not judged; a seen, stopped one is
    assert report["failed"] == []
    if experiments == 10:
        assert harness.slack_alerts() == []
    else:
        assert "should be running" in json.dumps(harness.slack_alerts())
