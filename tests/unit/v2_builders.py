"""v2 endpoints and deployments for the alerting tests, parsed by the real models (no mocks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from endpoint_relay.core.v2_models import Deployment, DeploymentState, Endpoint

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
OTHER_PROJECT = "proj_9Zz9Zz9Zz9Zz9Zz9Zz9Zz"
EP2 = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
READY = DeploymentState.READY.value
FAILED = DeploymentState.FAILED.value
DEGRADED = DeploymentState.DEGRADED.value
PROVISIONING = DeploymentState.PROVISIONING.value
STOPPED = DeploymentState.STOPPED.value
SCALING = DeploymentState.SCALING.value


def deployment(
    deployment_id: str = "dep_main",
    state: str = READY,
    *,
    ready: int | None = 2,
    low: int | None = 2,
    high: int | None = 4,
    created_at: str | None = "2023-11-14T00:00:00Z",
    **fields: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": deployment_id,
        "name": f"acme/chat/{deployment_id}",
        "model": "projects/proj_p/models/ml_x/revisions/rv_1",
        "state": state,
        "trafficMode": "TRAFFIC_MODE_LIVE",
        "hardware": "2x_nvidia_h100_80gb_sxm",
        "desiredReplicas": low,
    }
    if low is not None or high is not None:
        document["autoscaling"] = {
            key: value for key, value in (("minReplicas", low), ("maxReplicas", high)) if value is not None
        }
    if ready is not None:
        document["readyReplicas"] = ready
    if created_at is not None:
        document["createdAt"] = created_at
    document.update(fields)
    return document


def endpoint(
    *deployments: dict[str, Any], split: Mapping[str, float] | None = None, endpoint_id: str = EP2, **fields: Any
) -> Endpoint:
    weights = split if split is not None else {deployments[0]["id"]: 100.0} if deployments else {}
    document: dict[str, Any] = {
        "id": endpoint_id,
        "projectId": PROJECT,
        "name": "acme-research/support-chat",
        "trafficSplit": [{"deploymentId": key, "weight": weight} for key, weight in weights.items()],
        "deployments": list(deployments),
    }
    document.update(fields)
    return Endpoint.from_dict(document)


def full(document: dict[str, Any], message: str) -> Deployment:
    """The get-deployment body: the state and its message nested in ``status``."""
    body = {key: value for key, value in document.items() if key not in ("state", "readyReplicas")}
    body["status"] = {"state": document["state"], "message": message, "readyReplicas": document.get("readyReplicas")}
    return Deployment.from_dict(body)
