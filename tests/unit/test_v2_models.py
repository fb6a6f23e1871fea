"""The v2 models: the spec's examples parse, unknown things are tolerated, and only unusable bodies fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from endpoint_relay.core.v2_models import (
    KNOWN_DEPLOYMENT_STATES,
    Deployment,
    DeploymentAutoscaling,
    DeploymentState,
    Endpoint,
    Event,
    EventLevel,
    InstanceType,
    Page,
    TrafficMode,
    TrafficSplitEntry,
    V2ParseError,
    load_json,
)

SPEC = Path(__file__).resolve().parents[2] / "spec" / "together-v2-endpoints.openapi.yaml"
PATHS: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]


def _example(path: str) -> Any:
    """A deep copy of the spec's 200 example for ``GET path``, so a test may change it."""
    return copy.deepcopy(PATHS[path]["get"]["responses"]["200"]["content"]["application/json"]["example"])


ENDPOINT = "/v2/projects/{projectId}/endpoints/{id}"
ENDPOINTS = "/v2/projects/{projectId}/endpoints"
DEPLOYMENT = "/v2/projects/{projectId}/endpoints/{endpointId}/deployments/{id}"
EVENTS = "/v2/projects/{projectId}/endpoints/{id}/events"
INSTANCE_TYPES = "/v2/public/inference-instance-types"


# --- the spec's own examples --------------------------------------------------------------------------------


def test_the_spec_endpoint_example_parses_with_its_split_and_summaries() -> None:
    # Given the spec's get-endpoint example, When it is parsed
    endpoint = Endpoint.from_dict(_example(ENDPOINT))
    # Then the endpoint, its traffic split and both embedded summaries are read
    assert (endpoint.id, endpoint.project_id, endpoint.name) == (
        "ep_8Hq2mZk4TnR7vXw1Lc9Pd",
        "proj_3Fv7QpN2sK8wYd5Rb1Tm",
        "acme-research/support-chat",
    )
    assert endpoint.endpoint_type == "ENDPOINT_TYPE_DEDICATED"
    assert (endpoint.created_at, endpoint.updated_at) == ("2026-11-18T14:02:11Z", "2026-11-29T09:41:37Z")
    assert endpoint.traffic_split == (
        TrafficSplitEntry(deployment_id="dep_5Kc1Wn8Yh3Bq6Zr2Tx4Vm", weight=0.9),
        TrafficSplitEntry(deployment_id="dep_9Gt4Pd2Lm7Rx1Qs8Hv3Cn", weight=0.1),
    )
    canary = endpoint.deployments[0]
    assert canary == Deployment(
        id="dep_9Gt4Pd2Lm7Rx1Qs8Hv3Cn",
        state=DeploymentState.READY,
        status_message=None,
        name="acme-research/support-chat/llama-fp8-canary",
        endpoint_id=None,
        model="projects/proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym/models/ml_CbJNwQC2ZqCU2iFT3mrCh/revisions/rv_4Hs9Kd2Qx7Lm1Pz6Wc3Nb",
        hardware="2xnvidia-h100-80gb",
        traffic_mode=TrafficMode.LIVE,
        autoscaling=DeploymentAutoscaling(min_replicas=1, max_replicas=2),
        ready_replicas=1,
        desired_replicas=1,
        created_at="2026-11-29T09:12:04Z",
        updated_at=None,
    )
    assert [summary.id for summary in endpoint.deployments] == [
        "dep_9Gt4Pd2Lm7Rx1Qs8Hv3Cn",
        "dep_5Kc1Wn8Yh3Bq6Zr2Tx4Vm",
    ]


def test_the_spec_deployment_example_parses_its_nested_status() -> None:
    # Given the spec's full get-deployment example, When it is parsed
    deployment = Deployment.from_dict(_example(DEPLOYMENT))
    # Then state, message and ready replicas come from `status`, the rest from the top level
    assert deployment == Deployment(
        id="dep_5Kc1Wn8Yh3Bq6Zr2Tx4Vm",
        state=DeploymentState.SCALING,
        status_message="Starting replicas",
        name="acme-research/support-chat/llama-bf16-main",
        endpoint_id="ep_8Hq2mZk4TnR7vXw1Lc9Pd",
        model="projects/proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym/models/ml_Bq8Rt3Vx6Kd1Mz9Hw2Lp4/revisions/rv_2Wc8Nf5Tj1Qy7Kx3Rb9Ds",
        hardware="2xnvidia-h100-80gb",
        traffic_mode=TrafficMode.LIVE,
        autoscaling=DeploymentAutoscaling(min_replicas=2, max_replicas=4),
        ready_replicas=2,
        desired_replicas=3,
        created_at="2026-11-18T14:03:40Z",
        updated_at="2026-11-30T18:22:47Z",
    )
    assert deployment.state_is_known


def test_the_spec_endpoint_list_example_parses_as_a_page() -> None:
    page = Page.from_dict(_example(ENDPOINTS), Endpoint.from_dict)

    assert [endpoint.id for endpoint in page.data] == ["ep_8Hq2mZk4TnR7vXw1Lc9Pd", "ep_2Rw6Jf9Mk1Xt4Bd7Qn5Ls"]
    assert page.data[1].deployments[0].state == DeploymentState.STOPPED
    assert page.data[1].deployments[0].autoscaling == DeploymentAutoscaling(min_replicas=0, max_replicas=0)
    assert page.next_cursor == "Y3Vyc29yOmVwXzJSdzZKZjlNazFYdDRCZDdRbjVMcw"


def test_the_spec_event_example_parses_level_message_and_time() -> None:
    page = Page.from_dict(_example(EVENTS), Event.from_dict)

    assert len(page.data) == 5
    assert page.data[1] == Event(
        id="evt_3Hc8Vp1Qm6Zd4Wr9Kt2Nx",
        type="pod.log",
        level=EventLevel.WARN,
        message="Replica container terminated: out of memory",
        created_at="2026-11-30T18:19:05Z",
        deployment_id="dep_9Gt4Pd2Lm7Rx1Qs8Hv3Cn",
    )
    assert page.data[2].deployment_id is None  # an endpoint-scoped event


def test_the_spec_instance_type_example_parses_with_its_price() -> None:
    page = Page.from_dict(_example(INSTANCE_TYPES), InstanceType.from_dict)

    assert page.data == (InstanceType(id="1xnvidia-h100-80gb", name="1x NVIDIA H100 80GB", price_cents_per_hour=349),)
    assert page.next_cursor is None


# --- summaries and full bodies ------------------------------------------------------------------------------


def _summary(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "dep_5Kc1Wn8Yh3Bq6Zr2Tx4Vm",
        "state": "DEPLOYMENT_STATE_READY",
        "readyReplicas": 2,
    }
    document.update(overrides)
    return document


def test_the_nested_status_wins_over_summary_fields_when_both_are_sent() -> None:
    # Given a body carrying both shapes' fields, disagreeing
    document = _summary(status={"state": "DEPLOYMENT_STATE_FAILED", "readyReplicas": 0, "message": "Timed out"})
    # When it is parsed, Then the full body's `status` is believed
    deployment = Deployment.from_dict(document)
    assert (deployment.state, deployment.ready_replicas, deployment.status_message) == (
        DeploymentState.FAILED,
        0,
        "Timed out",
    )


def test_a_status_without_a_state_falls_back_to_the_summary_state() -> None:
    deployment = Deployment.from_dict(_summary(status={"message": "Scheduling replicas"}))
    assert deployment.state == DeploymentState.READY
    assert deployment.ready_replicas == 2
    assert deployment.status_message == "Scheduling replicas"


# --- tolerance ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parse", "extra"),
    [
        (ENDPOINT, Endpoint.from_dict, {"region": "eu", "rollout": {"id": "ro_1"}, "etag": 7}),
        (DEPLOYMENT, Deployment.from_dict, {"speculator": "x", "runtimeInfo": [1, 2], "object": "deployment.v3"}),
        (EVENTS, lambda document: Page.from_dict(document, Event.from_dict), {"object": "stream", "total": 3}),
        (INSTANCE_TYPES, lambda document: Page.from_dict(document, InstanceType.from_dict), {"has_more": False}),
    ],
    ids=["endpoint", "deployment", "event-page", "instance-type-page"],
)
def test_unknown_fields_are_ignored(path: str, parse: Any, extra: dict[str, Any]) -> None:
    # Given a spec example with fields Together may add later
    document = _example(path)
    document.update(extra)
    # When it is parsed, Then it reads as the untouched example does
    assert parse(document) == parse(_example(path))


def test_unknown_fields_inside_nested_objects_are_ignored() -> None:
    document = _example(DEPLOYMENT)
    document["status"]["conditions"] = [{"type": "Ready"}]
    document["autoscaling"]["scaleToZeroWindow"] = "1h"
    document["autoscaling"]["burst"] = {"max": 9}
    assert Deployment.from_dict(document) == Deployment.from_dict(_example(DEPLOYMENT))


@pytest.mark.parametrize(
    "state", ["DEPLOYMENT_STATE_HIBERNATING", "DEPLOYMENT_STATE_UNSPECIFIED", "READY", "deployment_state_ready", "🔥"]
)
def test_an_unknown_deployment_state_is_kept_as_sent(state: str) -> None:
    deployment = Deployment.from_dict(_summary(state=state))
    assert deployment.state == state
    assert not deployment.state_is_known


@pytest.mark.parametrize("state", sorted(KNOWN_DEPLOYMENT_STATES))
def test_every_documented_deployment_state_is_known(state: str) -> None:
    assert Deployment.from_dict(_summary(state=state)).state_is_known


def test_unknown_traffic_modes_and_event_levels_are_kept_as_sent() -> None:
    assert Deployment.from_dict(_summary(trafficMode="TRAFFIC_MODE_CANARY")).traffic_mode == "TRAFFIC_MODE_CANARY"
    assert Event.from_dict({"id": "evt_1", "level": "LEVEL_CRITICAL"}).level == "LEVEL_CRITICAL"


def test_a_bare_summary_reads_every_optional_field_as_none() -> None:
    # Given a deployment with only what a decision needs
    deployment = Deployment.from_dict({"id": "dep_a", "state": "DEPLOYMENT_STATE_READY"})
    # Then every other field is None
    assert deployment == Deployment(
        id="dep_a",
        state="DEPLOYMENT_STATE_READY",
        status_message=None,
        name=None,
        endpoint_id=None,
        model=None,
        hardware=None,
        traffic_mode=None,
        autoscaling=None,
        ready_replicas=None,
        desired_replicas=None,
        created_at=None,
        updated_at=None,
    )


def test_a_bare_endpoint_reads_every_optional_field_as_none() -> None:
    endpoint = Endpoint.from_dict({"id": "ep_a", "trafficSplit": [], "deployments": []})
    assert endpoint == Endpoint(
        id="ep_a",
        project_id=None,
        name=None,
        endpoint_type=None,
        created_at=None,
        updated_at=None,
        traffic_split=(),
        deployments=(),
    )


def test_bare_events_and_instance_types_read_optional_fields_as_none() -> None:
    assert Event.from_dict({"id": "evt_1"}) == Event(
        id="evt_1", type=None, level=None, message=None, created_at=None, deployment_id=None
    )
    assert InstanceType.from_dict({"id": "1xnvidia-h100-80gb"}) == InstanceType(
        id="1xnvidia-h100-80gb", name=None, price_cents_per_hour=None
    )


@pytest.mark.parametrize("value", [True, False, -1, 2.0, "2", None, [2], {"n": 2}], ids=repr)
def test_an_unreadable_count_is_none_rather_than_a_guess(value: Any) -> None:
    # Given replica counts, bounds and a price that are not non-negative integers
    deployment = Deployment.from_dict(
        _summary(readyReplicas=value, desiredReplicas=value, autoscaling={"minReplicas": value, "maxReplicas": 3})
    )
    price = InstanceType.from_dict({"id": "x", "priceCentsPerHour": value}).price_cents_per_hour
    # Then each reads as None
    assert (deployment.ready_replicas, deployment.desired_replicas, price) == (None, None, None)
    assert deployment.autoscaling == DeploymentAutoscaling(min_replicas=None, max_replicas=3)


@pytest.mark.parametrize("value", [7, "10m", [1], None, True], ids=repr)
def test_autoscaling_that_is_not_an_object_reads_as_none(value: Any) -> None:
    assert Deployment.from_dict(_summary(autoscaling=value)).autoscaling is None


@pytest.mark.parametrize("value", [42, True, ["dep"], {"id": "x"}], ids=repr)
def test_a_mistyped_optional_text_field_reads_as_none(value: Any) -> None:
    deployment = Deployment.from_dict(_summary(model=value, hardware=value, createdAt=value, status={"message": value}))
    assert (deployment.model, deployment.hardware, deployment.created_at, deployment.status_message) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("sent", "read"),
    [({"next_cursor": None}, None), ({}, None), ({"next_cursor": ""}, None), ({"next_cursor": 5}, None)],
    ids=["null", "absent", "empty", "not-a-string"],
)
def test_a_page_without_a_usable_cursor_is_the_last_page(sent: dict[str, Any], read: str | None) -> None:
    # An empty cursor would ask for the first page again, so it ends the listing too.
    page = Page.from_dict({"data": [], **sent}, Event.from_dict)
    assert page == Page(data=(), next_cursor=read)


def test_integer_weights_read_as_numbers() -> None:
    endpoint = Endpoint.from_dict(
        {"id": "ep_a", "trafficSplit": [{"deploymentId": "dep_a", "weight": 1}], "deployments": []}
    )
    assert endpoint.traffic_split == (TrafficSplitEntry(deployment_id="dep_a", weight=1.0),)


# --- unusable bodies ----------------------------------------------------------------------------------------


def _endpoint(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "ep_a",
        "trafficSplit": [{"deploymentId": "dep_a", "weight": 1}],
        "deployments": [{"id": "dep_a", "state": "DEPLOYMENT_STATE_READY"}],
    }
    document.update(overrides)
    return document


@pytest.mark.parametrize(
    "document",
    [
        [],
        "ep_a",
        None,
        {k: v for k, v in _endpoint().items() if k != "id"},
        _endpoint(id=""),
        _endpoint(id=7),
        {k: v for k, v in _endpoint().items() if k != "deployments"},
        _endpoint(deployments=None),
        _endpoint(deployments={"dep_a": {}}),
        {k: v for k, v in _endpoint().items() if k != "trafficSplit"},
        _endpoint(trafficSplit="dep_a=1"),
        _endpoint(deployments=[{"id": "dep_a"}]),
        _endpoint(deployments=[{"state": "DEPLOYMENT_STATE_READY"}]),
        _endpoint(deployments=[{"id": "dep_a", "state": ""}]),
        _endpoint(deployments=[{"id": "dep_a", "status": {"state": 3}}]),
        _endpoint(deployments=["dep_a"]),
        _endpoint(trafficSplit=[{"weight": 1}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a"}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a", "weight": -0.5}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a", "weight": float("nan")}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a", "weight": float("inf")}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a", "weight": True}]),
        _endpoint(trafficSplit=[{"deploymentId": "dep_a", "weight": "0.5"}]),
        _endpoint(trafficSplit=[None]),
    ],
    ids=[
        "array",
        "string",
        "null",
        "no-id",
        "empty-id",
        "numeric-id",
        "no-deployments",
        "null-deployments",
        "deployments-object",
        "no-traffic-split",
        "traffic-split-string",
        "summary-without-state",
        "summary-without-id",
        "summary-empty-state",
        "status-state-not-a-string",
        "summary-not-an-object",
        "split-without-deployment",
        "split-without-weight",
        "negative-weight",
        "nan-weight",
        "infinite-weight",
        "boolean-weight",
        "string-weight",
        "split-entry-null",
    ],
)
def test_an_endpoint_missing_what_a_decision_needs_is_refused(document: Any) -> None:
    # Reading a missing array as empty would turn a contract change into a confident "no deployments".
    with pytest.raises(V2ParseError):
        Endpoint.from_dict(document)


@pytest.mark.parametrize(
    ("parse", "document"),
    [
        (Event.from_dict, {"level": "LEVEL_INFO"}),
        (Event.from_dict, "evt_1"),
        (InstanceType.from_dict, {"priceCentsPerHour": 349}),
        (Deployment.from_dict, {"status": {"state": "DEPLOYMENT_STATE_READY"}}),
        (lambda document: Page.from_dict(document, Event.from_dict), {"object": "list"}),
        (lambda document: Page.from_dict(document, Event.from_dict), {"data": None}),
        (lambda document: Page.from_dict(document, Event.from_dict), {"data": [{"id": "evt_1"}, {"level": "x"}]}),
        (lambda document: Page.from_dict(document, Event.from_dict), []),
    ],
    ids=[
        "event-without-id",
        "event-not-an-object",
        "instance-type-without-id",
        "deployment-without-id",
        "page-without-data",
        "page-null-data",
        "page-with-one-bad-item",
        "page-not-an-object",
    ],
)
def test_other_unusable_bodies_are_refused(parse: Any, document: Any) -> None:
    with pytest.raises(V2ParseError):
        parse(document)


# --- decoding -----------------------------------------------------------------------------------------------


def test_bytes_and_text_bodies_decode_alike() -> None:
    body = json.dumps(_example(ENDPOINT))
    assert Endpoint.from_dict(load_json(body.encode("utf-8"))) == Endpoint.from_dict(load_json(body))


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"\xff\xfe", "{", "[" * 100_000 + "]" * 100_000],
    ids=["empty", "text", "binary", "cut", "deep"],
)
def test_a_body_that_is_not_json_is_refused(body: bytes | str) -> None:
    with pytest.raises(V2ParseError):
        load_json(body)
