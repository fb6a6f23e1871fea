"""GET /relay/fleet through the real lambda_handler, moto server and the simulator: auth, caching, errors, alerts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from endpoint_relay.app.v2_listing import page_size
from endpoint_relay.settings import UpstreamSettings
from tests.integration.conftest import Relay, put_endpoint_with_history, relay_serving

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
SECOND = "proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym"
FAILED_EP = "ep_fleetfailed000000001"
FAILED_DEP = "dep_fleetfailed00000001"
READY_EP = "ep_fleetready0000000001"
IDLE_EP = "ep_fleetidle00000000001"
V1_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"


def _seed(together: TogetherSimulator) -> None:
    failed = make_v2_deployment(
        FAILED_DEP, endpoint_id=FAILED_EP, project_id=PROJECT, state="DEPLOYMENT_STATE_FAILED", hardware="x"
    )
    failed["readyReplicas"] = 3  # a FAILED deployment still holding (and billing) replicas
    failed["status"] = {"state": "DEPLOYMENT_STATE_FAILED", "readyReplicas": 3}
    together.v2.put_endpoint(make_v2_endpoint(FAILED_EP, project_id=PROJECT, deployments=[failed]), [failed])
    ready = make_v2_deployment(endpoint_id=READY_EP, project_id=SECOND, min_replicas=2, max_replicas=4)
    together.v2.put_endpoint(make_v2_endpoint(READY_EP, project_id=SECOND, deployments=[ready]), [ready])
    stopped = make_v2_deployment(endpoint_id=IDLE_EP, project_id=SECOND, state="DEPLOYMENT_STATE_STOPPED")
    together.v2.put_endpoint(make_v2_endpoint(IDLE_EP, project_id=SECOND, deployments=[stopped]), [stopped])
    together.put(make_endpoint(V1_ID, min_replicas=2))


@pytest.fixture
def fleet_relay(relay_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest) -> Relay:
    _seed(together)
    return relay_serving(request, relay_env, PROJECT, SECOND)


def _error(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"])
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def test_the_fleet_lists_what_holds_replicas_across_projects_and_v1_and_caches_it(
    fleet_relay: Relay, together: TogetherSimulator
) -> None:
    # When a caller reads the fleet twice
    first = fleet_relay.get("/relay/fleet")
    calls = together.call_count()
    second = fleet_relay.get("/relay/fleet")
    # Then it is one line per deployment holding replicas, and v1, built once
    assert first["statusCode"] == 200, first["body"]
    assert (first["headers"]["X-Cache"], second["headers"]["X-Cache"]) == ("MISS", "HIT")
    assert first["headers"]["Cache-Control"] == "max-age=60"
    assert together.call_count() == calls
    fleet = json.loads(first["body"])
    assert fleet["object"] == "relay.fleet" and fleet["unreadableSources"] == []
    lines = {(line["key"], line["deploymentId"], line["replicas"], line["state"]) for line in fleet["data"]}
    assert lines == {
        (f"{PROJECT}/{FAILED_EP}", FAILED_DEP, 3, "DEPLOYMENT_STATE_FAILED"),
        (f"{SECOND}/{READY_EP}", lines_deployment(fleet, READY_EP), 2, "DEPLOYMENT_STATE_READY"),
        (V1_ID, None, 2, "STARTED"),
    }
    # No alert table: the alert column says it does not know
    assert {line["alert"] for line in fleet["data"]} == {"unknown"}
    # And a forced refresh builds it anew
    refreshed = fleet_relay.get("/relay/fleet", headers={"Cache-Control": "no-cache"})
    assert refreshed["headers"]["X-Cache"] == "REFRESH" and together.call_count() > calls


def lines_deployment(fleet: dict[str, Any], endpoint_id: str) -> str:
    (found,) = [line["deploymentId"] for line in fleet["data"] if line["endpointId"] == endpoint_id]
    return str(found)


def test_the_fleet_needs_the_relay_token(fleet_relay: Relay, together: TogetherSimulator) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        response = fleet_relay.get("/relay/fleet", authorized=False, headers=headers)
        assert response["statusCode"] == 401
        _error(response)
        assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert together.call_count() == 0


def test_when_together_refuses_everything_the_fleet_is_a_502_with_error_data(
    fleet_relay: Relay, together: TogetherSimulator
) -> None:
    together.api_keys = {"another-key"}

    response = fleet_relay.get("/relay/fleet")

    assert response["statusCode"] == 502
    assert _error(response)["message"] == "Together did not give a usable answer."


def test_an_unreadable_project_is_named_and_the_rest_still_answers(
    fleet_relay: Relay, together: TogetherSimulator
) -> None:
    # Given Together refuses the first list call (the first project's, in order) for good
    together.inject(Fault(status=400, body=b'{"error":{"message":"bad"}}'))

    response = fleet_relay.get("/relay/fleet")

    # Then the view still answers, naming the project it could not read and leaving it out of the totals
    assert response["statusCode"] == 200, response["body"]
    fleet = json.loads(response["body"])
    assert fleet["unreadableSources"] == [PROJECT]
    assert {line["key"] for line in fleet["data"]} == {f"{SECOND}/{READY_EP}", V1_ID}


def test_a_full_page_of_endpoints_with_ten_deployments_each_is_read(
    fleet_relay: Relay, together: TogetherSimulator
) -> None:
    # Given a project with more endpoints than one of the relay's list pages holds, each embedding its
    # 10 newest deployment summaries (each one READY with a replica)
    endpoints = page_size(UpstreamSettings().max_response_bytes) + 1
    for index in range(endpoints):
        put_endpoint_with_history(together, PROJECT, index)

    response = fleet_relay.get("/relay/fleet")

    # Then every page fits the relay's response cap: the project is read, all of it
    assert response["statusCode"] == 200, response["body"]
    fleet = json.loads(response["body"])
    assert fleet["unreadableSources"] == []
    assert len({line["key"] for line in fleet["data"] if line["key"].startswith(PROJECT)}) == endpoints + 1


def test_the_alert_column_comes_from_the_alert_table(
    alerting_env: dict[str, str], together: TogetherSimulator, request: pytest.FixtureRequest
) -> None:
    _seed(together)
    relay = relay_serving(request, alerting_env, PROJECT, SECOND)
    # Given the FAILED endpoint was looked up, so its alert fired
    assert relay.get(f"/v2/projects/{PROJECT}/endpoints/{FAILED_EP}")["statusCode"] == 200
    # When the fleet is read
    response = relay.get("/relay/fleet")
    # Then the FAILED deployment fires, with its finding, and the others (never evaluated) are ok
    fleet = json.loads(response["body"])
    alerts = {line["key"]: (line["alert"], tuple(line["findings"])) for line in fleet["data"]}
    assert alerts[f"{PROJECT}/{FAILED_EP}"][0] == "firing"
    assert "state_failed" in alerts[f"{PROJECT}/{FAILED_EP}"][1]
    assert alerts[V1_ID] == ("ok", ()) and alerts[f"{SECOND}/{READY_EP}"] == ("ok", ())
