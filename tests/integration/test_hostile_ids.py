"""Hostile endpoint ids are refused with 400 before any secret fetch or upstream call."""

from __future__ import annotations

import json

import pytest

from devstack.events import http_event
from devstack.together_sim import TogetherSimulator
from tests.integration.conftest import Relay

GOOD = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"

# Raw paths as a client could send them; API Gateway delivers rawPath still percent-encoded.
HOSTILE_RAW_PATHS = [
    "/v1/endpoints/..",
    "/v1/endpoints/../endpoints",
    "/v1/endpoints/%2e%2e",
    "/v1/endpoints/endpoint-abc%2F..%2Fadmin",
    "/v1/endpoints/endpoint-abc%2fdelete",
    "/v1/endpoints/endpoint-abc/../../v1/keys",
    "/v1/endpoints/endpoint-abc/extra",
    "/v1/endpoints/endpoint-abc%5C..",
    "/v1/endpoints/endpoint-abc\\..",
    "/v1/endpoints/endpoint-abc%3Fq=1",
    "/v1/endpoints/endpoint-abc%23frag",
    "/v1/endpoints/endpoint-abc%0D%0AX-Injected:%201",
    "/v1/endpoints/endpoint-abc\r\nX-Injected: 1",
    "/v1/endpoints/endpoint-abc%00",
    "/v1/endpoints/endpoint-abc\x00",
    "/v1/endpoints/endpoint-ab\u0441",  # Cyrillic es
    "/v1/endpoints/\uff45ndpoint-abc",  # fullwidth e
    "/v1/endpoints/endpoint-abc\u200b",  # zero-width space
    "/v1/endpoints/endpoint-ABC",
    "/v1/endpoints/Endpoint-abc",
    "/v1/endpoints/endpoint-",
    "/v1/endpoints/endpoint--",
    "/v1/endpoints/endpoint-abc-",
    "/v1/endpoints/endpoint_abc",
    "/v1/endpoints/endpoint-abc.json",
    "/v1/endpoints/endpoint-abc%20",
    "/v1/endpoints/endpoint-abc%2520",
    "/v1/endpoints/ endpoint-abc",
    "/v1/endpoints/abc",
    "/v1/endpoints/" + "endpoint-" + "a" * 200,
    "/v1/endpoints/endpoint-abc;rm",
    "/v1/endpoints/endpoint-abc@evil.example",
    "/v1/endpoints/endpoint-abc:443",
    "/v1/endpoints/%65ndpoint-abc",
    "/v1/endpoints/endpoint-abc%252F..",
    "/v1/endpoints/$(id)",
    "/v1/endpoints/{endpointId}",
    "/v1/endpoints/",
    # v2 ids take the v1 view's path, and the same gate
    "/v1/endpoints/ep_",
    "/v1/endpoints/ep_a%2F..%2Fadmin",
    "/v1/endpoints/ep_abc\r\nX-Injected: 1",
    "/v1/endpoints/ep_ab\u0441",
    "/v1/endpoints/ep_abc.json",
    "/v1/endpoints/ep_abc-",
    "/v1/endpoints/ep_" + "a" * 80,
]


@pytest.mark.parametrize("raw_path", HOSTILE_RAW_PATHS)
def test_hostile_id_is_400_with_no_secret_fetch_and_no_upstream_call(
    relay: Relay, together: TogetherSimulator, raw_path: str
) -> None:
    response = relay.invoke(http_event("GET", raw_path, headers={"Authorization": f"Bearer {relay.token}"}))

    assert response["statusCode"] == 400, raw_path
    error = json.loads(response["body"])["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "endpointId"
    assert together.call_count() == 0
    assert relay.secret_fetches == 0


def test_there_are_at_least_thirty_hostile_variants() -> None:
    assert len(set(HOSTILE_RAW_PATHS)) >= 30


def test_a_good_id_passes_the_same_gate(relay: Relay, together: TogetherSimulator) -> None:
    from devstack.together_sim import make_endpoint

    together.put(make_endpoint(GOOD))
    assert relay.get(f"/v1/endpoints/{GOOD}")["statusCode"] == 200


def test_unknown_route_is_a_404_error_data(relay: Relay) -> None:
    response = relay.invoke(http_event("GET", "/v2/anything"))
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "route_not_found"


def test_write_methods_are_refused(relay: Relay, together: TogetherSimulator) -> None:
    response = relay.invoke(http_event("DELETE", f"/v1/endpoints/{GOOD}", headers={"Authorization": "Bearer x"}))
    assert response["statusCode"] == 405
    assert together.call_count() == 0


PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
V2_BASE = f"/v2/projects/{PROJECT}/endpoints"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"

# (raw path, status, the ErrorData param): every one is refused before the secret or Together is touched.
HOSTILE_V2 = [
    (f"{V2_BASE}/ep_..", 400, "endpointId"),
    (f"{V2_BASE}/ep_a%2F..%2F..%2Fv1", 400, "endpointId"),
    (f"{V2_BASE}/ep_a%00", 400, "endpointId"),
    (f"{V2_BASE}/ep_a\r\nX-Injected: 1", 404, None),  # no route matches a segment with CR/LF
    (f"{V2_BASE}/ep_\u0430bc", 400, "endpointId"),
    (f"{V2_BASE}/endpoint-abc", 400, "endpointId"),
    (f"{V2_BASE}/ep_" + "a" * 80, 400, "endpointId"),
    (f"{V2_BASE}/{EP}/deployments/dep_%2e%2e", 400, "deploymentId"),
    (f"{V2_BASE}/{EP}/deployments/dep_a;rm", 400, "deploymentId"),
    (f"{V2_BASE}/{EP}/events/..", 404, None),
    (f"{V2_BASE}/{EP}/../../../v1/endpoints", 404, None),
    ("/v2/projects/proj_../endpoints", 400, "projectId"),
    ("/v2/projects/proj_a%2Fb/endpoints", 400, "projectId"),
    ("/v2/projects/proj_\uff41/endpoints", 400, "projectId"),
    ("/v2/projects/PROJ_abc/endpoints", 400, "projectId"),
    ("/v2/projects/proj_someoneelse/endpoints", 404, "projectId"),
    (f"/v2/projects/proj_someoneelse/endpoints/{EP}", 404, "projectId"),
    ("/v2/projects/proj_someoneelse/endpoints/ep_%2e%2e", 404, "projectId"),
    ("/v2/public/inference-instance-types/..", 400, "id"),
    ("/v2/public/inference-instance-types/a%2Fb", 400, "id"),
    ("/v2/organizations/org_1/endpoints", 404, None),
]


@pytest.mark.parametrize(("raw_path", "status", "param"), HOSTILE_V2)
def test_hostile_v2_ids_and_other_projects_are_refused_with_no_secret_fetch_and_no_upstream_call(
    relay_env: dict[str, str],
    together: TogetherSimulator,
    request: pytest.FixtureRequest,
    raw_path: str,
    status: int,
    param: str | None,
) -> None:
    # Given a relay serving one project, and another project's endpoint that Together would answer for
    from devstack.together_v2_docs import make_v2_endpoint

    relay_env["TOGETHER_PROJECT_ID"] = PROJECT
    relay: Relay = request.getfixturevalue("relay")
    together.v2.put_endpoint(make_v2_endpoint(EP, project_id="proj_someoneelse"))
    # When a caller with a valid token sends the hostile path
    response = relay.invoke(http_event("GET", raw_path, headers={"Authorization": f"Bearer {relay.token}"}))
    # Then it is refused as ErrorData, and neither the secret nor Together was touched
    assert response["statusCode"] == status, raw_path
    error = json.loads(response["body"])["error"]
    assert error["param"] == param
    assert together.call_count() == 0
    assert relay.secret_fetches == 0
