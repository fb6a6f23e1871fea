"""The v1 view of a v2 endpoint: which deployment speaks for it, its derived state, and the v1 document shape."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpoint_relay.core import models
from endpoint_relay.core.v1_view import V1_STATE_BY_DEPLOYMENT_STATE, primary_deployment, to_v1_document, v1_state
from endpoint_relay.core.v2_models import KNOWN_DEPLOYMENT_STATES, Deployment, DeploymentState, Endpoint

ROOT = Path(__file__).resolve().parents[2]
V1_SPEC: dict[str, Any] = yaml.safe_load((ROOT / "spec" / "together-get-endpoint.openapi.yaml").read_text("utf-8"))
V2_SPEC: dict[str, Any] = yaml.safe_load((ROOT / "spec" / "together-v2-endpoints.openapi.yaml").read_text("utf-8"))
DEDICATED_ENDPOINT = {**V1_SPEC["components"]["schemas"]["DedicatedEndpoint"], "components": V1_SPEC["components"]}

PROPERTY = settings(
    derandomize=True, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow], database=None
)

MAIN_MODEL = "projects/proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym/models/ml_Bq8Rt3Vx6Kd1Mz9Hw2Lp4/revisions/rv_2Wc8Nf5Tj1Qy7Kx3Rb9Ds"
READY = DeploymentState.READY.value
STOPPED = DeploymentState.STOPPED.value


def _deployment(deployment_id: str, created_at: str | None = "2026-11-01T00:00:00Z", **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": deployment_id,
        "name": f"acme/chat/{deployment_id}",
        "model": f"projects/proj_p/models/ml_{deployment_id}/revisions/rv_1",
        "state": READY,
        "trafficMode": "TRAFFIC_MODE_LIVE",
        "autoscaling": {"minReplicas": 1, "maxReplicas": 3},
        "hardware": f"hw-{deployment_id}",
    }
    if created_at is not None:
        document["createdAt"] = created_at
    document.update(fields)
    return document


def _endpoint(split: dict[str, float], *deployments: dict[str, Any], **fields: Any) -> Endpoint:
    document: dict[str, Any] = {
        "id": "ep_8Hq2mZk4TnR7vXw1Lc9Pd",
        "projectId": "proj_3Fv7QpN2sK8wYd5Rb1Tm",
        "name": "acme-research/support-chat",
        "createdAt": "2026-11-18T14:02:11Z",
        "trafficSplit": [{"deploymentId": key, "weight": weight} for key, weight in split.items()],
        "deployments": list(deployments),
    }
    document.update(fields)
    return Endpoint.from_dict(document)


def _primary_id(endpoint: Endpoint) -> str | None:
    primary = primary_deployment(endpoint)
    return primary.id if primary else None


# --- the primary deployment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("split", "deployments", "expected"),
    [
        ({"dep_a": 0.9, "dep_b": 0.1}, [_deployment("dep_b"), _deployment("dep_a")], "dep_a"),
        ({"dep_a": 0.1, "dep_b": 0.9}, [_deployment("dep_a"), _deployment("dep_b")], "dep_b"),
        ({"dep_old": 3}, [_deployment("dep_new", "2026-11-30T00:00:00Z"), _deployment("dep_old")], "dep_old"),
        ({"dep_a": 1, "dep_b": 0}, [_deployment("dep_b", "2026-11-30T00:00:00Z"), _deployment("dep_a")], "dep_a"),
        (
            {"dep_shadow": 5, "dep_live": 1},
            [_deployment("dep_shadow", trafficMode="TRAFFIC_MODE_SHADOW"), _deployment("dep_live")],
            "dep_live",
        ),
        ({"dep_gone": 9, "dep_a": 1}, [_deployment("dep_a")], "dep_a"),
        ({"dep_a": 1}, [_deployment("dep_b"), _deployment("dep_a", state=STOPPED)], "dep_a"),
        ({"dep_a": 0.5, "dep_b": 0.2}, [_deployment("dep_b"), _deployment("dep_a", trafficMode=None)], "dep_a"),
    ],
    ids=[
        "highest-weight-listed-last",
        "highest-weight-listed-first",
        "weight-beats-newer",
        "zero-weight-is-not-live",
        "shadow-is-not-live",
        "split-entry-for-an-unlisted-deployment",
        "live-even-when-stopped",
        "missing-traffic-mode-counts-as-live",
    ],
)
def test_the_primary_is_the_live_deployment_with_the_highest_weight(
    split: dict[str, float], deployments: list[dict[str, Any]], expected: str
) -> None:
    # Given an endpoint whose split gives live traffic to some deployments
    endpoint = _endpoint(split, *deployments)
    # When the primary is chosen, Then it is the live one with the highest weight
    assert _primary_id(endpoint) == expected


@pytest.mark.parametrize(
    ("split", "deployments", "expected"),
    [
        (
            {"dep_a": 0.5, "dep_b": 0.5},
            [_deployment("dep_a", "2026-11-01T00:00:00Z"), _deployment("dep_b", "2026-11-02T00:00:00Z")],
            "dep_b",
        ),
        ({"dep_a": 1, "dep_b": 1}, [_deployment("dep_a"), _deployment("dep_b")], "dep_a"),
        ({"dep_a": 1, "dep_b": 1}, [_deployment("dep_b"), _deployment("dep_a")], "dep_b"),
        (
            {"dep_a": 1, "dep_b": 1},
            [_deployment("dep_a", "2026-11-01T12:00:00+02:00"), _deployment("dep_b", "2026-11-01T11:00:00Z")],
            "dep_b",
        ),
        (
            {"dep_a": 1, "dep_b": 1},
            [_deployment("dep_a", "2026-11-01T11:00:00Z"), _deployment("dep_b", "2026-11-01T12:00:00")],
            "dep_b",
        ),
        ({"dep_a": 1, "dep_b": 1}, [_deployment("dep_a", None), _deployment("dep_b", "2020-01-01T00:00:00Z")], "dep_b"),
        ({"dep_a": 1, "dep_b": 1}, [_deployment("dep_a", "yesterday"), _deployment("dep_b")], "dep_b"),
    ],
    ids=[
        "newer-wins",
        "same-time-first-listed-wins",
        "same-time-first-listed-wins-reversed",
        "offsets-compare-as-instants",
        "no-offset-reads-as-utc",
        "missing-created-at-is-oldest",
        "unreadable-created-at-is-oldest",
    ],
)
def test_equal_weights_go_to_the_newest_then_to_list_order(
    split: dict[str, float], deployments: list[dict[str, Any]], expected: str
) -> None:
    assert _primary_id(_endpoint(split, *deployments)) == expected


@pytest.mark.parametrize(
    ("split", "deployments", "expected"),
    [
        ({}, [_deployment("dep_a", "2026-11-01T00:00:00Z"), _deployment("dep_b", "2026-11-03T00:00:00Z")], "dep_b"),
        ({"dep_a": 0, "dep_b": 0}, [_deployment("dep_b", "2026-11-03T00:00:00Z"), _deployment("dep_a")], "dep_b"),
        (
            {"dep_a": 1},
            [_deployment("dep_a", trafficMode="TRAFFIC_MODE_SHADOW"), _deployment("dep_b", "2026-11-03T00:00:00Z")],
            "dep_b",
        ),
        ({}, [_deployment("dep_a", "2026-11-03T00:00:00Z", state=STOPPED), _deployment("dep_b")], "dep_a"),
        ({}, [_deployment("dep_a", None), _deployment("dep_b", None)], "dep_a"),
        ({}, [], None),
    ],
    ids=[
        "empty-split",
        "all-weights-zero",
        "only-shadow-weighted",
        "newest-even-when-stopped",
        "no-times-first-listed",
        "no-deployments",
    ],
)
def test_with_no_live_deployment_the_primary_is_the_newest(
    split: dict[str, float], deployments: list[dict[str, Any]], expected: str | None
) -> None:
    assert _primary_id(_endpoint(split, *deployments)) == expected


def test_a_full_deployment_list_replaces_the_embedded_ten() -> None:
    # Given a split pointing at a deployment older than the 10 summaries the endpoint embeds
    embedded = [_deployment(f"dep_{n}", f"2026-11-{n + 10:02d}T00:00:00Z") for n in range(10)]
    endpoint = _endpoint({"dep_old": 1}, *embedded)
    old = Deployment.from_dict(_deployment("dep_old", "2026-01-01T00:00:00Z", hardware="hw-old"))
    # When the caller passes the full list, Then the weighted deployment is found
    assert _primary_id(endpoint) == "dep_9"
    everything = [old, *endpoint.deployments]
    assert primary_deployment(endpoint, everything) == old
    assert to_v1_document(endpoint, everything)["hardware"] == "hw-old"


# --- the derived state --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v2_state", "v1"),
    [
        ("DEPLOYMENT_STATE_STOPPED", "STOPPED"),
        ("DEPLOYMENT_STATE_FAILED", "ERROR"),
        ("DEPLOYMENT_STATE_PROVISIONING", "STARTING"),
        ("DEPLOYMENT_STATE_READY", "STARTED"),
        ("DEPLOYMENT_STATE_SCALING", "STARTED"),
        ("DEPLOYMENT_STATE_DEGRADED", "STARTED"),
        ("DEPLOYMENT_STATE_STOPPING", "STOPPING"),
    ],
)
def test_each_row_of_the_state_table(v2_state: str, v1: str) -> None:
    # Given an endpoint whose primary deployment is in a documented state
    endpoint = _endpoint({"dep_a": 1}, _deployment("dep_a", state=v2_state))
    # When it is viewed as v1, Then the state is the table's
    document = to_v1_document(endpoint)
    assert document["state"] == v1
    assert models.Endpoint.from_dict(document).state_is_known


def test_the_table_covers_every_documented_state() -> None:
    assert set(V1_STATE_BY_DEPLOYMENT_STATE) == KNOWN_DEPLOYMENT_STATES


def test_an_endpoint_without_deployments_is_stopped() -> None:
    assert to_v1_document(_endpoint({}))["state"] == "STOPPED"
    assert v1_state(None) == "STOPPED"


def test_an_endpoint_whose_deployments_are_all_stopped_is_stopped() -> None:
    endpoint = _endpoint(
        {"dep_a": 1},
        _deployment("dep_b", "2026-11-03T00:00:00Z", state=STOPPED),
        _deployment("dep_a", state=STOPPED),
    )
    assert to_v1_document(endpoint)["state"] == "STOPPED"


def test_the_state_is_the_primarys_not_the_newest_deployments() -> None:
    # Given a canary still provisioning beside the serving deployment that has all the traffic
    endpoint = _endpoint(
        {"dep_main": 1},
        _deployment("dep_canary", "2026-11-30T00:00:00Z", state="DEPLOYMENT_STATE_PROVISIONING"),
        _deployment("dep_main", "2026-11-01T00:00:00Z", state="DEPLOYMENT_STATE_DEGRADED"),
    )
    # Then the endpoint reads as serving
    assert to_v1_document(endpoint)["state"] == "STARTED"


def test_a_stopped_primary_is_stopped_beside_a_ready_deployment_without_traffic() -> None:
    endpoint = _endpoint(
        {"dep_main": 1, "dep_next": 0},
        _deployment("dep_next", "2026-11-30T00:00:00Z", state=READY),
        _deployment("dep_main", state=STOPPED),
    )
    assert to_v1_document(endpoint)["state"] == "STOPPED"


@pytest.mark.parametrize(
    "state", ["DEPLOYMENT_STATE_HIBERNATING", "DEPLOYMENT_STATE_UNSPECIFIED", "STARTED", "deployment_state_ready"]
)
def test_an_unknown_state_passes_through_unchanged(state: str) -> None:
    # Given a primary in a state Together may add later
    document = to_v1_document(_endpoint({"dep_a": 1}, _deployment("dep_a", state=state)))
    # Then it is shown as sent, and the relay's v1 model keeps it (flagged unknown unless v1 knows it)
    assert document["state"] == state
    assert models.Endpoint.from_dict(document).state == state


# --- the v1 document ----------------------------------------------------------------------------------------


def test_the_spec_example_becomes_a_v1_document() -> None:
    # Given the v2 spec's get-endpoint example (weights 0.9 and 0.1)
    example = V2_SPEC["paths"]["/v2/projects/{projectId}/endpoints/{id}"]["get"]["responses"]["200"]
    endpoint = Endpoint.from_dict(copy.deepcopy(example["content"]["application/json"]["example"]))
    # When it is viewed as v1
    document = to_v1_document(endpoint)
    # Then the 0.9 deployment speaks for it, and the document is a valid DedicatedEndpoint
    assert document == {
        "object": "endpoint",
        "id": "ep_8Hq2mZk4TnR7vXw1Lc9Pd",
        "name": "acme-research/support-chat",
        "display_name": "support-chat",
        "model": MAIN_MODEL,
        "hardware": "2xnvidia-h100-80gb",
        "type": "dedicated",
        "owner": "proj_3Fv7QpN2sK8wYd5Rb1Tm",
        "state": "STARTED",
        "autoscaling": {"min_replicas": 2, "max_replicas": 4},
        "created_at": "2026-11-18T14:02:11Z",
    }
    jsonschema.validate(document, DEDICATED_ENDPOINT)


@pytest.mark.parametrize("state", sorted(KNOWN_DEPLOYMENT_STATES))
def test_every_documented_state_yields_a_valid_dedicated_endpoint(state: str) -> None:
    document = to_v1_document(_endpoint({"dep_a": 1}, _deployment("dep_a", state=state)))
    jsonschema.validate(document, DEDICATED_ENDPOINT)


def test_a_bare_endpoint_yields_a_valid_dedicated_endpoint() -> None:
    # Given an endpoint with nothing optional and no deployments
    endpoint = Endpoint.from_dict({"id": "ep_a", "trafficSplit": [], "deployments": []})
    # Then the v1 document is still complete: empty strings, stopped, zero replicas
    document = to_v1_document(endpoint)
    jsonschema.validate(document, DEDICATED_ENDPOINT)
    assert (document["name"], document["display_name"], document["model"], document["owner"]) == ("", "", "", "")
    assert (document["state"], document["autoscaling"]) == ("STOPPED", {"min_replicas": 0, "max_replicas": 0})


@pytest.mark.parametrize(
    ("autoscaling", "expected"),
    [
        ({"minReplicas": 2, "maxReplicas": 5}, (2, 5)),
        ({"maxReplicas": 5}, (0, 5)),
        ({"minReplicas": 2}, (2, 2)),
        ({}, (0, 0)),
        (None, (0, 0)),
        ({"minReplicas": -1, "maxReplicas": True}, (0, 0)),
    ],
    ids=["both", "min-omitted-is-zero", "max-defaults-to-min", "empty", "absent", "unreadable"],
)
def test_replica_bounds_come_from_the_primary_with_the_documented_defaults(
    autoscaling: dict[str, Any] | None, expected: tuple[int, int]
) -> None:
    endpoint = _endpoint({"dep_a": 1}, _deployment("dep_a", autoscaling=autoscaling))
    document = to_v1_document(endpoint)
    assert (document["autoscaling"]["min_replicas"], document["autoscaling"]["max_replicas"]) == expected
    jsonschema.validate(document, DEDICATED_ENDPOINT)


@pytest.mark.parametrize(
    ("name", "display_name"),
    [("acme/support-chat", "support-chat"), ("support-chat", "support-chat"), ("acme/a/b", "a/b"), ("acme/", "acme/")],
)
def test_the_display_name_drops_the_project_slug(name: str, display_name: str) -> None:
    assert to_v1_document(_endpoint({}, name=name))["display_name"] == display_name


def test_the_v1_document_parses_as_the_relays_v1_model() -> None:
    endpoint = _endpoint({"dep_a": 1}, _deployment("dep_a", autoscaling={"minReplicas": 1, "maxReplicas": 2}))
    parsed = models.Endpoint.from_dict(to_v1_document(endpoint))
    assert parsed.id == "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
    assert parsed.autoscaling == models.Autoscaling(min_replicas=1, max_replicas=2)


_DEPLOYMENTS = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["dep_a", "dep_b", "dep_c", "dep_d"]),
            "state": st.sampled_from(sorted(KNOWN_DEPLOYMENT_STATES)),
            "trafficMode": st.sampled_from(["TRAFFIC_MODE_LIVE", "TRAFFIC_MODE_SHADOW"]),
            "createdAt": st.sampled_from(["2026-11-01T00:00:00Z", "2026-11-02T00:00:00+01:00", "garbage"]),
        },
        optional={
            "autoscaling": st.fixed_dictionaries(
                {}, optional={"minReplicas": st.integers(0, 8), "maxReplicas": st.integers(0, 8)}
            ),
            "hardware": st.text(max_size=5),
        },
    ),
    max_size=6,
)
_SPLIT = st.dictionaries(st.sampled_from(["dep_a", "dep_b", "dep_e"]), st.floats(0, 10), max_size=3)


@PROPERTY
@given(_SPLIT, _DEPLOYMENTS)
def test_any_endpoint_with_documented_states_yields_a_valid_dedicated_endpoint(
    split: dict[str, float], deployments: list[dict[str, Any]]
) -> None:
    endpoint = _endpoint(split, *deployments)
    primary = primary_deployment(endpoint)
    assert (primary is None) == (not endpoint.deployments)
    assert primary is None or primary in endpoint.deployments
    jsonschema.validate(to_v1_document(endpoint), DEDICATED_ENDPOINT)
