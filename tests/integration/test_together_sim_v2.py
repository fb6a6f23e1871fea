"""The Together simulator's v2 read API over real HTTP, every answer checked against spec/together-v2-endpoints.

Each response is validated against the schema the spec gives for that operation and status (2xx and errors
alike), so the simulator cannot drift from the spec the relay is written against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jsonschema
import pytest
import urllib3
import yaml

from devstack.together_sim import Fault, TogetherSimulator, make_endpoint
from devstack.together_v2_docs import (
    DEPLOYMENT_STATES,
    make_instance_type,
    make_v2_deployment,
    make_v2_endpoint,
    make_v2_event,
)

pytestmark = pytest.mark.integration

SPEC = Path(__file__).resolve().parents[2] / "spec" / "together-v2-endpoints.openapi.yaml"
KEY = "sim-together-key"
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
LIST = f"/v2/projects/{PROJECT}/endpoints"
GET = f"{LIST}/{EP}"
HTTP = urllib3.PoolManager(retries=False)


# -- helpers -------------------------------------------------------------------------------------------------------


@cache
def _spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


def _schema_for(template: str, status: int) -> dict[str, Any]:
    """The response schema the spec gives ``template``'s GET for ``status`` (or its default response)."""
    spec = _spec()
    responses = spec["paths"][template]["get"]["responses"]
    response = responses.get(str(status), responses.get("default"))
    assert response is not None, f"{template} documents no {status} response"
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return {**response["content"]["application/json"]["schema"], "components": spec["components"]}


def _component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}", "components": _spec()["components"]}


def _valid(document: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def _get(
    sim: TogetherSimulator, template: str, path: str | None = None, key: str = KEY, **params: Any
) -> tuple[int, Any]:
    """GET ``path`` (default: ``template``) on the simulator and check the answer against ``template``'s spec."""
    query = f"?{urlencode(params)}" if params else ""
    response = HTTP.request(
        "GET",
        f"{sim.v2_base_url.removesuffix('/v2')}{path or template}{query}",
        headers={"Authorization": f"Bearer {key}"},
    )
    body = json.loads(response.data)
    _valid(body, _schema_for(template, response.status))
    return response.status, body


def _ids(documents: list[dict[str, Any]]) -> list[str]:
    return [str(document["id"]) for document in documents]


@pytest.fixture
def sim(together: TogetherSimulator) -> Iterator[TogetherSimulator]:
    yield together


def _seed(sim: TogetherSimulator, count: int) -> list[str]:
    """``count`` endpoints created a minute apart, one READY deployment each."""
    ids = []
    for n in range(count):
        endpoint_id = f"ep_{n:04d}"
        created = f"2026-11-01T10:{n:02d}:00Z"
        deployment = make_v2_deployment(f"dep_{n:04d}", endpoint_id=endpoint_id, project_id=PROJECT, created_at=created)
        endpoint = make_v2_endpoint(endpoint_id, project_id=PROJECT, deployments=[deployment], created_at=created)
        ids.append(sim.v2.put_endpoint(endpoint, [deployment]))
    return ids


def _pages(sim: TogetherSimulator, template: str, path: str, **params: Any) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        status, page = _get(sim, template, path, **params, **({"after": cursor} if cursor else {}))
        assert status == 200
        pages.append(page)
        cursor = page.get("next_cursor")
        if not cursor:
            return pages


# -- factories -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", DEPLOYMENT_STATES)
def test_factories_make_spec_valid_documents_in_every_state(state: str) -> None:
    deployment = make_v2_deployment(endpoint_id=EP, state=state, inactive_timeout=60)
    _valid(deployment, _component("Deployment"))
    _valid(make_v2_endpoint(EP, deployments=[deployment]), _component("Endpoint"))


def test_factories_make_events_and_instance_types_the_spec_accepts() -> None:
    _valid(make_v2_event(EP, created_at="2026-11-30T18:22:47Z"), _component("EndpointEvent"))
    _valid(make_v2_event(EP, created_at="2026-11-30T18:22:47Z", deployment_id="dep_1"), _component("EndpointEvent"))
    _valid(make_instance_type(), _component("InferenceInstanceType"))


def test_an_endpoints_share_of_traffic_follows_weight_times_ready_replicas() -> None:
    main = make_v2_deployment("dep_main", endpoint_id=EP, min_replicas=3)
    canary = make_v2_deployment("dep_canary", endpoint_id=EP, min_replicas=1)
    starting = make_v2_deployment("dep_new", endpoint_id=EP, state="DEPLOYMENT_STATE_PROVISIONING")
    endpoint = make_v2_endpoint(EP, deployments=[main, canary, starting])
    shares = {d["id"]: d["estimatedEffectiveTrafficShare"] for d in endpoint["deployments"]}
    assert shares == {"dep_main": 0.75, "dep_canary": 0.25, "dep_new": 0}


# -- endpoints -----------------------------------------------------------------------------------------------------


def test_get_endpoint_embeds_summaries_of_the_deployments_the_simulator_holds(sim: TogetherSimulator) -> None:
    # Given an endpoint with a READY and a FAILED deployment
    ready = make_v2_deployment("dep_ready", endpoint_id=EP, project_id=PROJECT, min_replicas=2, max_replicas=4)
    failed = make_v2_deployment("dep_failed", endpoint_id=EP, project_id=PROJECT, state="DEPLOYMENT_STATE_FAILED")
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=[ready, failed]), [ready, failed])
    # When the READY one later loses a replica
    degraded: dict[str, Any] = {
        "state": "DEPLOYMENT_STATE_DEGRADED",
        "ready_replicas": 1,
        "message": "1 of 2 replicas ready",
    }
    sim.v2.put_deployment(
        make_v2_deployment("dep_ready", endpoint_id=EP, project_id=PROJECT, min_replicas=2, max_replicas=4, **degraded)
    )
    status, endpoint = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)
    # Then the endpoint's summary shows it, and the deployment itself does too
    assert status == 200
    summary = {d["id"]: d for d in endpoint["deployments"]}["dep_ready"]
    assert (summary["state"], summary["readyReplicas"], summary["desiredReplicas"]) == (
        "DEPLOYMENT_STATE_DEGRADED",
        1,
        2,
    )
    assert summary["autoscaling"] == {"minReplicas": 2, "maxReplicas": 4}
    assert [entry["deploymentId"] for entry in endpoint["trafficSplit"]] == ["dep_ready", "dep_failed"]
    status, deployment = _get(
        sim, "/v2/projects/{projectId}/endpoints/{endpointId}/deployments/{id}", f"{GET}/deployments/dep_ready"
    )
    expected_status = {"state": degraded["state"], "message": degraded["message"], "readyReplicas": 1}
    assert deployment["status"] == {**expected_status, "scheduledReplicas": 2}
    assert deployment["hardware"] == "2xnvidia-h100-80gb" and deployment["estimatedEffectiveTrafficShare"] == 1


def test_an_endpoint_embeds_only_its_ten_newest_deployments_and_the_list_has_them_all(
    sim: TogetherSimulator,
) -> None:
    deployments = [
        make_v2_deployment(
            f"dep_{n:02d}", endpoint_id=EP, project_id=PROJECT, created_at=f"2026-11-{n + 1:02d}T00:00:00Z"
        )
        for n in range(12)
    ]
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=deployments), deployments)

    _, endpoint = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)
    pages = _pages(sim, "/v2/projects/{projectId}/endpoints/{endpointId}/deployments", f"{GET}/deployments", limit=5)

    assert _ids(endpoint["deployments"]) == [f"dep_{n:02d}" for n in range(11, 1, -1)]
    assert sorted(_ids([d for page in pages for d in page["data"]])) == _ids(deployments)
    assert [len(page["data"]) for page in pages] == [5, 5, 2]


def test_paging_through_25_endpoints_ten_at_a_time_returns_each_once(sim: TogetherSimulator) -> None:
    # Given 25 endpoints in the project and one in another project
    ids = _seed(sim, 25)
    sim.v2.put_endpoint(make_v2_endpoint("ep_elsewhere", project_id="proj_other"))
    # When a caller follows next_cursor with limit 10
    pages = _pages(sim, "/v2/projects/{projectId}/endpoints", LIST, limit=10)
    # Then it sees every endpoint of the project exactly once, newest first, and the last page says so
    seen = _ids([endpoint for page in pages for endpoint in page["data"]])
    assert [len(page["data"]) for page in pages] == [10, 10, 5]
    assert seen == list(reversed(ids))
    assert pages[-1]["next_cursor"] is None and "next_cursor" in pages[-1]
    assert sim.call_count(LIST) == 3


def test_a_page_resumes_after_its_cursor_even_when_endpoints_come_and_go(sim: TogetherSimulator) -> None:
    ids = _seed(sim, 6)
    _, first = _get(sim, "/v2/projects/{projectId}/endpoints", LIST, limit=3, orderBy="created_at asc")
    sim.v2.remove_endpoint(ids[2])  # the last item the cursor points after
    _, second = _get(
        sim, "/v2/projects/{projectId}/endpoints", LIST, limit=3, orderBy="created_at asc", after=first["next_cursor"]
    )
    assert _ids(first["data"]) == ids[:3] and _ids(second["data"]) == ids[3:]


def test_the_last_page_may_leave_next_cursor_out(sim: TogetherSimulator) -> None:
    _seed(sim, 3)
    sim.v2.omit_final_cursor = True
    _, page = _get(sim, "/v2/projects/{projectId}/endpoints", LIST)
    assert len(page["data"]) == 3 and "next_cursor" not in page


def test_the_default_page_size_is_50(sim: TogetherSimulator) -> None:
    _seed(sim, 51)
    _, page = _get(sim, "/v2/projects/{projectId}/endpoints", LIST)
    assert len(page["data"]) == 50 and page["next_cursor"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("created_at", [0, 1, 2]),
        ("created_at asc", [0, 1, 2]),
        ("created_at desc", [2, 1, 0]),
        ("updated_at desc", [1, 0, 2]),
        ("updated_at", [2, 0, 1]),
    ],
)
def test_order_by_sorts_on_the_named_timestamp(sim: TogetherSimulator, order_by: str, expected: list[int]) -> None:
    updated = ["2026-11-20T00:00:00Z", "2026-11-25T00:00:00Z", "2026-11-10T00:00:00Z"]
    for n, when in enumerate(updated):
        sim.v2.put_endpoint(
            make_v2_endpoint(f"ep_{n}", project_id=PROJECT, created_at=f"2026-11-0{n + 1}T00:00:00Z", updated_at=when)
        )
    _, page = _get(sim, "/v2/projects/{projectId}/endpoints", LIST, orderBy=order_by)
    assert _ids(page["data"]) == [f"ep_{n}" for n in expected]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('name:"chat"', ["ep_chat", "ep_chat2"]),
        ('name = "support-*"', ["ep_chat"]),
        ('name = "*-chat"', ["ep_chat"]),
        ('name = "acme/support-chat"', ["ep_chat"]),
        ("name = batch", ["ep_batch"]),
        ('created_at >= "2026-11-02T00:00:00Z"', ["ep_batch", "ep_chat2"]),
        ('created_at < "2026-11-02T00:00:00Z" OR name = batch', ["ep_batch", "ep_chat"]),
        ('name:chat AND NOT name = "support-chat"', ["ep_chat2"]),
        ('name:chat updated_at > "2026-11-02T12:00:00+00:00"', ["ep_chat2"]),
        ('(name = batch OR name = "chat-two") AND created_at > "2026-11-01T00:00:00Z"', ["ep_chat2", "ep_batch"]),
    ],
)
def test_filter_selects_endpoints_by_name_and_time(
    sim: TogetherSimulator, expression: str, expected: list[str]
) -> None:
    for endpoint_id, name, day in [
        ("ep_chat", "support-chat", 1),
        ("ep_batch", "batch", 2),
        ("ep_chat2", "chat-two", 3),
    ]:
        sim.v2.put_endpoint(
            make_v2_endpoint(
                endpoint_id, project_id=PROJECT, name=f"acme/{name}", created_at=f"2026-11-0{day}T00:00:00Z"
            )
        )
    _, page = _get(sim, "/v2/projects/{projectId}/endpoints", LIST, filter=expression)
    assert sorted(_ids(page["data"])) == sorted(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": ""},
        {"orderBy": "name"},
        {"orderBy": "created_at sideways"},
        {"orderBy": "created_at desc, updated_at"},
        {"filter": "owner = me"},
        {"filter": 'name = "x'},
        {"filter": "created_at > yesterday"},
        {"filter": "created_at : 2026"},
        {"filter": "name = x AND"},
        {"filter": "(name = x"},
        {"after": "not a cursor!"},
        {"after": "Y3Vyc29yOmVwXzJSdzZKZjlNazFYdDRCZDdRbjVMcw"},
    ],
    ids=lambda params: "-".join(f"{k}={v}" for k, v in params.items()),
)
def test_a_bad_list_parameter_is_a_400_in_the_spec_error_shape(sim: TogetherSimulator, params: dict[str, str]) -> None:
    _seed(sim, 1)
    status, body = _get(sim, "/v2/projects/{projectId}/endpoints", LIST, **params)
    assert status == 400 and "message" in body["error"]


@pytest.mark.parametrize(("limit", "status"), [("500", 200), ("501", 400), ("1", 200)])
def test_the_deployment_list_takes_at_most_500_a_page(sim: TogetherSimulator, limit: str, status: int) -> None:
    _seed(sim, 1)
    answered, _ = _get(
        sim, "/v2/projects/{projectId}/endpoints/{endpointId}/deployments", f"{LIST}/ep_0000/deployments", limit=limit
    )
    assert answered == status


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("state = DEPLOYMENT_STATE_FAILED", ["dep_b"]),
        ("state != DEPLOYMENT_STATE_FAILED", ["dep_a"]),
        ('name = "dep_a"', ["dep_a"]),
    ],
)
def test_the_deployment_list_filters_on_state_and_name(
    sim: TogetherSimulator, expression: str, expected: list[str]
) -> None:
    a = make_v2_deployment("dep_a", endpoint_id=EP, project_id=PROJECT)
    b = make_v2_deployment("dep_b", endpoint_id=EP, project_id=PROJECT, state="DEPLOYMENT_STATE_FAILED")
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=[a, b]), [a, b])
    template = "/v2/projects/{projectId}/endpoints/{endpointId}/deployments"
    _, page = _get(sim, template, f"{GET}/deployments", filter=expression)
    assert _ids(page["data"]) == expected
    status, _ = _get(sim, template, f"{GET}/deployments", filter="state = RUNNING")
    assert status == 400


# -- events --------------------------------------------------------------------------------------------------------

EVENTS = "/v2/projects/{projectId}/endpoints/{id}/events"


@pytest.fixture
def feed(sim: TogetherSimulator) -> list[dict[str, Any]]:
    """Six events on EP: endpoint- and deployment-scoped, every level, one an hour from 10:00."""
    deployments = [make_v2_deployment(d, endpoint_id=EP, project_id=PROJECT) for d in ("dep_a", "dep_b")]
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=deployments), deployments)
    shapes: list[dict[str, Any]] = [
        {"event_type": "endpoint.created"},
        {"deployment_id": "dep_a"},
        {"deployment_id": "dep_b", "level": "LEVEL_WARN", "event_type": "pod.log", "message": "OOM killed"},
        {"deployment_id": "dep_a", "level": "LEVEL_ERROR", "event_type": "condition.set", "subjectId": "Ready"},
        {"level": "LEVEL_DEBUG", "event_type": "endpoint.updated", "paths": ["trafficSplit"]},
        {"deployment_id": "dep_b"},
    ]
    events = [
        make_v2_event(EP, event_id=f"evt_{n}", created_at=f"2026-11-30T{10 + n}:00:00Z", **shape)
        for n, shape in enumerate(shapes)
    ]
    sim.v2.add_events(*reversed(events))
    return events


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [5, 4, 3, 2, 1, 0]),
        ({"minLevel": "LEVEL_WARN"}, [3, 2]),
        ({"minLevel": "LEVEL_INFO"}, [5, 3, 2, 1, 0]),
        ({"since": "2026-11-30T12:00:00Z", "until": "2026-11-30T14:00:00Z"}, [3, 2]),
        ({"types": "pod.log,condition.set"}, [3, 2]),
        ({"deploymentIds": "dep_a"}, [3, 1]),
        ({"deploymentIds": "dep_a", "sourceKinds": "SOURCE_KIND_ENDPOINT,SOURCE_KIND_DEPLOYMENT"}, [4, 3, 1, 0]),
        ({"sourceKinds": "SOURCE_KIND_ENDPOINT"}, [4, 0]),
        ({"subjectId": "Ready"}, [3]),
        ({"minLevel": "LEVEL_INFO", "since": "2026-11-30T11:00:00+00:00", "deploymentIds": "dep_b"}, [5, 2]),
    ],
)
def test_events_are_newest_first_and_filters_combine_with_and(
    sim: TogetherSimulator, feed: list[dict[str, Any]], params: dict[str, str], expected: list[int]
) -> None:
    _, page = _get(sim, EVENTS, f"{GET}/events", **params)
    assert _ids(page["data"]) == [f"evt_{n}" for n in expected]


def test_events_page_by_cursor(sim: TogetherSimulator, feed: list[dict[str, Any]]) -> None:
    pages = _pages(sim, EVENTS, f"{GET}/events", limit=4, minLevel="LEVEL_DEBUG")
    assert [_ids(page["data"]) for page in pages] == [["evt_5", "evt_4", "evt_3", "evt_2"], ["evt_1", "evt_0"]]


@pytest.mark.parametrize(
    "params",
    [
        {"minLevel": "WARN"},
        {"since": "yesterday"},
        {"until": "2026-11-30T12:00:00"},
        {"sourceKinds": "SOURCE_KIND_CLUSTER"},
        {"deploymentIds": "dep_elsewhere"},
        {"limit": "501"},
    ],
    ids=lambda params: "-".join(params),
)
def test_a_bad_event_query_is_a_400(sim: TogetherSimulator, feed: list[dict[str, Any]], params: dict[str, str]) -> None:
    status, _ = _get(sim, EVENTS, f"{GET}/events", **params)
    assert status == 400


# -- analytics -----------------------------------------------------------------------------------------------------

ANALYTICS = "/v2/projects/{projectId}/endpoints/{id}/analytics"
WINDOW = {"startTime": "2026-11-30T12:00:00Z", "endTime": "2026-11-30T18:00:00Z"}


@pytest.fixture
def traffic(sim: TogetherSimulator) -> None:
    """dep_busy served 40 requests in the window and 7 before it; dep_idle served none in it."""
    deployments = [make_v2_deployment(d, endpoint_id=EP, project_id=PROJECT) for d in ("dep_busy", "dep_idle")]
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT, deployments=deployments), deployments)
    sim.v2.add_requests(EP, "dep_busy", 30, "2026-11-30T12:00:00Z")
    sim.v2.add_requests(EP, "dep_busy", 10, "2026-11-30T17:59:59Z")
    sim.v2.add_requests(EP, "dep_busy", 7, "2026-11-30T11:59:59Z")
    sim.v2.add_requests(EP, "dep_idle", 5, "2026-11-30T18:00:00Z")  # the end is exclusive


def _counts(body: dict[str, Any]) -> dict[str, str | None]:
    return {
        entry["deploymentId"]: entry["metrics"].get("requestMetrics", {}).get("totalRequests")
        for entry in body["deploymentAnalytics"]
    }


def test_analytics_counts_requests_per_deployment_in_the_window_as_strings(
    sim: TogetherSimulator, traffic: None
) -> None:
    status, body = _get(sim, ANALYTICS, f"{GET}/analytics", **WINDOW)
    assert status == 200
    assert body["timeRange"] == WINDOW
    assert body["metrics"]["requestMetrics"] == {"totalRequests": "40"}
    assert _counts(body) == {"dep_busy": "40", "dep_idle": None}
    assert {m["deploymentId"]: m["requestMetrics"] for m in body["metrics"]["deploymentMetrics"]} == {
        "dep_busy": {"totalRequests": "40"},
        "dep_idle": {},
    }


@pytest.mark.parametrize(("zero_count", "idle"), [("omit_object", None), ("zero", "0")])
def test_a_zero_count_can_be_rendered_each_way_the_spec_allows(
    sim: TogetherSimulator, traffic: None, zero_count: Any, idle: str | None
) -> None:
    sim.v2.zero_count = zero_count
    _, body = _get(sim, ANALYTICS, f"{GET}/analytics", **WINDOW)
    assert _counts(body) == {"dep_busy": "40", "dep_idle": idle}
    idle_entry = {e["deploymentId"]: e for e in body["deploymentAnalytics"]}["dep_idle"]
    assert ("requestMetrics" in idle_entry["metrics"]) is (zero_count == "zero")


def test_analytics_narrows_to_one_deployment_and_buckets_on_request(sim: TogetherSimulator, traffic: None) -> None:
    _, body = _get(
        sim,
        ANALYTICS,
        f"{GET}/analytics",
        deploymentId="dep_busy",
        granularity="3h",
        includeTimeSeries="true",
        **WINDOW,
    )
    assert _counts(body) == {"dep_busy": "40"}
    assert [point["values"]["requests"] for point in body["timeSeries"]] == [30, 10]
    assert [point["timestamp"] for point in body["deploymentAnalytics"][0]["timeSeries"]] == [
        "2026-11-30T12:00:00Z",
        "2026-11-30T15:00:00Z",
    ]


def test_analytics_defaults_to_the_last_24_hours(sim: TogetherSimulator, traffic: None) -> None:
    _, body = _get(sim, ANALYTICS, f"{GET}/analytics")
    assert "timeSeries" not in body
    assert set(body["timeRange"]) == {"startTime", "endTime"}


@pytest.mark.parametrize(
    "params",
    [
        {"startTime": "2026-11-30T18:00:00Z", "endTime": "2026-11-30T12:00:00Z"},
        {"startTime": "noon"},
        {"includeTimeSeries": "yes"},
        {"granularity": "hourly"},
        {"deploymentId": "dep_elsewhere"},
    ],
    ids=lambda params: "-".join(params),
)
def test_a_bad_analytics_query_is_a_400(sim: TogetherSimulator, traffic: None, params: dict[str, str]) -> None:
    status, _ = _get(sim, ANALYTICS, f"{GET}/analytics", **params)
    assert status == 400


# -- instance types ------------------------------------------------------------------------------------------------


def test_the_instance_type_catalog_carries_prices(sim: TogetherSimulator) -> None:
    b200 = make_instance_type("8xnvidia-b200-180gb", gpu_type="B200", gpu_count=8, price_cents_per_hour=4792)
    sim.v2.put_instance_type(b200)
    status, catalog = _get(sim, "/v2/public/inference-instance-types")
    assert status == 200 and catalog["next_cursor"] is None
    prices = {item["id"]: item["priceCentsPerHour"] for item in catalog["data"]}
    assert prices["8xnvidia-b200-180gb"] == 4792 and prices["2xnvidia-h100-80gb"] == 698
    status, one = _get(
        sim, "/v2/public/inference-instance-types/{id}", "/v2/public/inference-instance-types/1xnvidia-h100-80gb"
    )
    assert status == 200 and one["priceCentsPerHour"] == 349


# -- errors, key, faults -------------------------------------------------------------------------------------------

UNKNOWN = [
    ("/v2/projects/{projectId}/endpoints/{id}", f"/v2/projects/proj_nobody/endpoints/{EP}"),
    ("/v2/projects/{projectId}/endpoints/{id}", f"{LIST}/ep_nobody"),
    ("/v2/projects/{projectId}/endpoints", "/v2/projects/proj_nobody/endpoints"),
    (EVENTS, f"{LIST}/ep_nobody/events"),
    (ANALYTICS, f"{LIST}/ep_nobody/analytics"),
    ("/v2/projects/{projectId}/endpoints/{endpointId}/deployments", f"{LIST}/ep_nobody/deployments"),
    ("/v2/projects/{projectId}/endpoints/{endpointId}/deployments/{id}", f"{GET}/deployments/dep_nobody"),
    ("/v2/public/inference-instance-types/{id}", "/v2/public/inference-instance-types/99xabacus"),
]


@pytest.mark.parametrize("shape", ["envelope", "rpc"])
@pytest.mark.parametrize(("template", "path"), UNKNOWN, ids=[path for _, path in UNKNOWN])
def test_an_unknown_project_or_id_is_a_404_in_the_chosen_error_shape(
    sim: TogetherSimulator, shape: Any, template: str, path: str
) -> None:
    # Given EP in PROJECT, and the simulator answering errors in one of the two shapes the spec allows
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.v2.error_shape = shape
    # When a caller asks for something that does not exist
    status, body = _get(sim, template, path)
    # Then it is a 404 in that shape
    assert status == 404
    if shape == "rpc":
        _valid(body, _component("RpcStatus"))
        assert body["code"] == 5 and body["details"][0]["detail"] == body["message"]
    else:
        _valid(body, _component("ErrorEnvelope"))
        assert "error" in body and body["error"]["code"] == "not_found"


def test_an_endpoint_of_another_project_is_not_found(sim: TogetherSimulator) -> None:
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.v2.add_project("proj_other")
    status, _ = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", f"/v2/projects/proj_other/endpoints/{EP}")
    assert status == 404
    status, page = _get(sim, "/v2/projects/{projectId}/endpoints", "/v2/projects/proj_other/endpoints")
    assert status == 200 and page["data"] == []


@pytest.mark.parametrize("shape", ["envelope", "rpc"])
@pytest.mark.parametrize("key", ["tgp-not-the-key", ""])
def test_a_wrong_key_is_a_401_and_not_counted_as_a_call(sim: TogetherSimulator, shape: Any, key: str) -> None:
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.v2.error_shape = shape
    status, body = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET, key=key)
    assert status == 401
    assert sim.auth_failures == 1 and sim.call_count() == 0
    _valid(body, _component("RpcStatus" if shape == "rpc" else "ErrorEnvelope"))


def test_the_instance_catalog_checks_the_key_too(sim: TogetherSimulator) -> None:
    status, _ = _get(sim, "/v2/public/inference-instance-types", key="tgp-not-the-key")
    assert status == 401


@pytest.mark.parametrize("shape", ["envelope", "rpc"])
def test_a_fault_is_served_once_then_the_real_answer(sim: TogetherSimulator, shape: Any) -> None:
    # Given a 503 then a 429 scripted, in either error shape
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.v2.error_shape = shape
    sim.inject(Fault(status=503), Fault(status=429, headers={"Retry-After": "1"}))
    # When the endpoint is fetched three times
    answers = [_get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)[0] for _ in range(3)]
    # Then each fault is served once, in the spec's error shape, and every call counted under the path
    assert answers == [503, 429, 200]
    assert sim.call_count(GET) == 3


def test_a_scripted_body_and_a_reset_reach_v2_callers(sim: TogetherSimulator) -> None:
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.inject(Fault(status=200, body=b"{not json"), Fault(reset_connection=True))
    url = f"{sim.v2_base_url}/projects/{PROJECT}/endpoints/{EP}"
    headers = {"Authorization": f"Bearer {KEY}"}
    assert HTTP.request("GET", url, headers=headers).data == b"{not json"
    with pytest.raises(urllib3.exceptions.ProtocolError):
        HTTP.request("GET", url, headers=headers)
    assert sim.call_count(GET) == 2


def test_latency_applies_to_v2_as_to_v1(sim: TogetherSimulator) -> None:
    # The answer is unchanged; how long it took is not asserted (the machine is shared and noisy)
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.latency = 0.01
    assert _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)[0] == 200


def test_an_unknown_v2_path_is_a_404_and_leaves_scripted_faults_alone(sim: TogetherSimulator) -> None:
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.inject(Fault(status=503))
    response = HTTP.request(
        "GET", f"{sim.v2_base_url}/projects/{PROJECT}/widgets", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status == 404
    _valid(json.loads(response.data), _component("ApiError"))
    assert _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)[0] == 503


def test_v1_and_v2_are_served_side_by_side_and_counted_apart(sim: TogetherSimulator) -> None:
    v1_id = "endpoint-5b1e0c4e-8f0a-4c55-9d7e-2f6a1b3c4d5e"
    sim.put(make_endpoint(v1_id))
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    headers = {"Authorization": f"Bearer {KEY}"}
    v1 = HTTP.request("GET", f"{sim.base_url}/endpoints/{v1_id}", headers=headers)
    assert v1.status == 200 and json.loads(v1.data)["id"] == v1_id
    assert _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)[0] == 200
    assert (sim.call_count(v1_id), sim.call_count(GET), sim.call_count()) == (1, 1, 2)


def test_an_encoded_id_is_decoded_and_counted_under_the_path_as_sent(sim: TogetherSimulator) -> None:
    odd = "ep with/slash"
    sim.v2.put_endpoint(make_v2_endpoint(odd, project_id=PROJECT))
    path = f"{LIST}/{quote(odd, safe='')}"
    status, body = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", path)
    assert status == 200 and body["id"] == odd
    assert sim.call_count(path) == 1


def test_reset_forgets_v2_state_and_knobs(sim: TogetherSimulator) -> None:
    sim.v2.put_endpoint(make_v2_endpoint(EP, project_id=PROJECT))
    sim.v2.error_shape = "rpc"
    sim.reset()
    status, body = _get(sim, "/v2/projects/{projectId}/endpoints/{id}", GET)
    assert status == 404 and "error" in body
