"""v2 alerting and the slash command through `make serve`, with TOGETHER_PROJECT_ID set: what on-call sees.

`make serve` is pointed at a simulator this test seeds and at a Slack receiver it owns, so every notice and
every deferred answer can be read back. A lookup evaluates what it retrieved (the lookup-triggered
evaluation), so no sweep is needed to see a notice. Covered elsewhere through `make serve`: the SDK 3.x
reads and the SDK 2.x reading ``ep_…`` through the v1 view (tests/integration/test_sdk_compat.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint, make_v2_event
from tests.integration.serve_support import (
    HttpResult,
    Served,
    http_request,
    signed_command,
    status_answer,
    v2_serve_fixtures,
)

KEY = "tgp-serve-v2-" + "k" * 16
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
FAILED_EP = "ep_failed0000000000001"
FAILED_DEP = "dep_failed000000000001"
DEGRADED_EP = "ep_degraded00000000001"
DEGRADED_DEP = "dep_degraded0000000001"
TWO_EP = "ep_twodeps000000000001"
REASON = "Readiness probe failed: model weights not found"
WEBHOOK = "/services/"
RESPONSES = "/commands/"
WAIT = 30.0
"""Upper bound for an asynchronous answer to arrive; it normally takes well under a second."""


def _recent(seconds_ago: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


@pytest.fixture(scope="module")
def upstream() -> Iterator[TogetherSimulator]:
    with TogetherSimulator(api_keys={KEY}) as sim:
        v2 = sim.v2
        failed = make_v2_deployment(
            FAILED_DEP,
            endpoint_id=FAILED_EP,
            project_id=PROJECT,
            state="DEPLOYMENT_STATE_FAILED",
            message="Deployment failed: container exited with code 1",
        )
        v2.put_endpoint(make_v2_endpoint(FAILED_EP, project_id=PROJECT, deployments=[failed]), [failed])
        v2.add_events(
            make_v2_event(FAILED_EP, created_at=_recent(120), level="LEVEL_INFO", message="scaled"),
            make_v2_event(
                FAILED_EP,
                created_at=_recent(60),
                level="LEVEL_ERROR",
                event_type="deployment.failed",
                deployment_id=FAILED_DEP,
                message=REASON,
            ),
        )
        degraded = make_v2_deployment(
            DEGRADED_DEP,
            endpoint_id=DEGRADED_EP,
            project_id=PROJECT,
            state="DEPLOYMENT_STATE_DEGRADED",
            min_replicas=3,
            max_replicas=4,
            desired_replicas=3,
            ready_replicas=1,
        )
        v2.put_endpoint(make_v2_endpoint(DEGRADED_EP, project_id=PROJECT, deployments=[degraded]), [degraded])
        live = make_v2_deployment("dep_twolive0000000001", endpoint_id=TWO_EP, project_id=PROJECT, min_replicas=2)
        canary = make_v2_deployment(
            "dep_twocanary00000001", endpoint_id=TWO_EP, project_id=PROJECT, created_at="2026-11-21T00:00:00Z"
        )
        split = [{"deploymentId": live["id"], "weight": 90}, {"deploymentId": canary["id"], "weight": 10}]
        v2.put_endpoint(make_v2_endpoint(TWO_EP, project_id=PROJECT, deployments=[live, canary], traffic_split=split))
        v2.put_deployment(live)
        v2.put_deployment(canary)
        yield sim


slack, served = v2_serve_fixtures(key=KEY, project=PROJECT)


def _get(served: Served, path: str, *, refresh: bool = False) -> HttpResult:
    headers = {"Authorization": f"Bearer {served.token}"}
    if refresh:
        headers["Cache-Control"] = "no-cache"
    return http_request(served.url + path, headers=headers)


def _notices(slack: SlackReceiver, endpoint_id: str) -> list[str]:
    """The webhook messages (alerts) about ``endpoint_id``, each as its JSON text."""
    texts = [json.dumps(message.json(), ensure_ascii=False) for message in slack.messages(WEBHOOK)]
    return [text for text in texts if endpoint_id in text]


def test_a_failed_deployment_notifies_once_quoting_the_events_feed(served: Served, slack: SlackReceiver) -> None:
    # When the FAILED endpoint is looked up through the v2 route
    first = _get(served, f"/v2/projects/{PROJECT}/endpoints/{FAILED_EP}")
    assert first.status == 200, first.body
    # Then exactly one notice reached Slack (delivered within the lookup), naming it and quoting the ERROR event
    [notice] = _notices(slack, FAILED_EP)
    assert REASON in notice and FAILED_DEP in notice and "FAILED" in notice
    # When it is fetched again from Together, through the v2 route and through the v1 view
    again = _get(served, f"/v2/projects/{PROJECT}/endpoints/{FAILED_EP}", refresh=True)
    view = _get(served, f"/v1/endpoints/{FAILED_EP}", refresh=True)
    assert (again.status, again.headers["x-cache"]) == (200, "REFRESH")
    assert (view.status, view.headers["x-cache"], json.loads(view.body)["state"]) == (200, "REFRESH", "ERROR")
    # Then nobody is notified again: the alert state already announced it
    assert len(_notices(slack, FAILED_EP)) == 1


def test_a_degraded_under_replicated_deployment_notifies(served: Served, slack: SlackReceiver) -> None:
    # When the DEGRADED endpoint (1 of 3 replicas ready) is looked up through the v1 view
    view = _get(served, f"/v1/endpoints/{DEGRADED_EP}")
    assert view.status == 200 and view.headers["x-relay-translated-from"] == "v2"
    # Then Slack hears of it, with the deployment's state and replicas
    [notice] = _notices(slack, DEGRADED_EP)
    assert "DEGRADED" in notice and DEGRADED_DEP in notice
    assert "1/3" in notice or "ready 1" in notice


def test_status_of_an_ep_id_answers_with_its_deployments(served: Served, slack: SlackReceiver) -> None:
    # When someone asks for an endpoint nobody looked up (so the Slack worker fetches it)
    answer = status_answer(served, slack, TWO_EP, "dep_twocanary00000001", prefix=RESPONSES, wait=WAIT)
    # Then the answer lists each deployment, with its weight, under the endpoint's project
    assert "dep_twolive0000000001" in answer and "dep_twocanary00000001" in answer
    assert PROJECT in answer and "90" in answer


def test_hostile_ids_other_projects_and_bad_slack_names_make_no_upstream_call(
    served: Served, upstream: TogetherSimulator, slack: SlackReceiver
) -> None:
    before = dict(upstream.calls)
    for path in (
        f"/v2/projects/{PROJECT}/endpoints/ep_..%2F..%2Fadmin",
        f"/v2/projects/{PROJECT}/endpoints/{quote('ep_<script>', safe='')}",
        f"/v2/projects/proj_other0000000000001/endpoints/{FAILED_EP}",
        f"/v2/projects/{quote('proj_x/../y', safe='')}/endpoints/{FAILED_EP}",
        f"/v1/endpoints/{quote('ep_a b', safe='')}",
        f"/v1/endpoints/ep_{'a' * 300}",
    ):
        answer = _get(served, path)
        assert answer.status in (400, 404), (path, answer.status)
        assert set(json.loads(answer.body)["error"]) == {"message", "type", "param", "code"}
    for text in ("status proj_other0000000000001/ep_x", "status ep_../x", "check <!channel>", "mute ep_%2F 1h"):
        reply = signed_command(served, text, f"{slack.url}{RESPONSES}T0001/1/hostile")
        assert reply.status == 200 and '"ephemeral"' in reply.body.decode(), text
    assert dict(upstream.calls) == before
