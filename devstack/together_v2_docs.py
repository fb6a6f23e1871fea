"""Documents shaped as Together's v2 endpoints API serves them (spec/together-v2-endpoints.openapi.yaml).

Plain dicts, so tests, the simulator and devstack/stack.py's seeding can build
them without a running server. Every default is spec-valid; every field a
relay reads (state, replicas, hardware, status.message, trafficSplit) can be
chosen by the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

DEFAULT_PROJECT_ID = "proj_sim"
DEFAULT_PROJECT_SLUG = "sim-project"
CREATED_AT = "2026-11-18T14:02:11Z"

DEPLOYMENT_STATES = (
    "DEPLOYMENT_STATE_PROVISIONING",
    "DEPLOYMENT_STATE_READY",
    "DEPLOYMENT_STATE_SCALING",
    "DEPLOYMENT_STATE_DEGRADED",
    "DEPLOYMENT_STATE_FAILED",
    "DEPLOYMENT_STATE_STOPPED",
    "DEPLOYMENT_STATE_STOPPING",
)
EVENT_LEVELS = ("LEVEL_DEBUG", "LEVEL_INFO", "LEVEL_WARN", "LEVEL_ERROR")  # lowest first
SOURCE_KINDS = ("SOURCE_KIND_ENDPOINT", "SOURCE_KIND_DEPLOYMENT")

# The status.message wording the docs give per state; tests may pass any other.
_STATE_MESSAGES = {
    "DEPLOYMENT_STATE_PROVISIONING": "Scheduling replicas",
    "DEPLOYMENT_STATE_READY": "All replicas ready",
    "DEPLOYMENT_STATE_SCALING": "Starting replicas",
    "DEPLOYMENT_STATE_DEGRADED": "Below requested capacity",
    "DEPLOYMENT_STATE_FAILED": "Timed out waiting for readiness",
    "DEPLOYMENT_STATE_STOPPED": "Stopped",
    "DEPLOYMENT_STATE_STOPPING": "Stopping replicas",
}
_STOPPED_STATES = {"DEPLOYMENT_STATE_STOPPED", "DEPLOYMENT_STATE_STOPPING", "DEPLOYMENT_STATE_FAILED"}
# The summary carries these fields of the full deployment unchanged.
_SUMMARY_FIELDS = ("id", "name", "model", "modelId", "trafficMode", "autoscaling", "createdAt", "desiredReplicas")
EMBEDDED_SUMMARIES = 10  # an endpoint embeds at most its 10 newest deployments (docs)


def _short_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def make_v2_deployment(
    deployment_id: str | None = None,
    *,
    endpoint_id: str,
    project_id: str = DEFAULT_PROJECT_ID,
    state: str = "DEPLOYMENT_STATE_READY",
    min_replicas: int = 1,
    max_replicas: int = 2,
    desired_replicas: int | None = None,
    ready_replicas: int | None = None,
    hardware: str = "2xnvidia-h100-80gb",
    message: str | None = None,
    traffic_mode: str = "TRAFFIC_MODE_LIVE",
    name: str | None = None,
    created_at: str = CREATED_AT,
    updated_at: str | None = None,
    inactive_timeout: int | None = None,
) -> dict[str, Any]:
    """A full Deployment (get/list deployment shape).

    Replica counts default to what the state implies: a stopped or failed
    deployment wants and has none; a READY one has ``min_replicas`` of
    ``min_replicas``; a starting one wants ``min_replicas`` and has none yet.
    """
    deployment_id = deployment_id or _short_id("dep")
    stopped = state in _STOPPED_STATES
    if desired_replicas is None:
        desired_replicas = 0 if stopped else min_replicas
    if ready_replicas is None:
        ready_replicas = desired_replicas if state == "DEPLOYMENT_STATE_READY" else 0
    model_id = f"ml_{deployment_id[-12:]}"
    revision_id = f"rv_{deployment_id[-12:]}"
    config_id = f"cr_{deployment_id[-12:]}"
    document: dict[str, Any] = {
        "id": deployment_id,
        "projectId": project_id,
        "endpointId": endpoint_id,
        "name": name or f"{DEFAULT_PROJECT_SLUG}/{endpoint_id}/{deployment_id}",
        "createdAt": created_at,
        "updatedAt": updated_at or created_at,
        "etag": uuid.uuid4().hex[:10],
        "model": f"projects/{project_id}/models/{model_id}/revisions/{revision_id}",
        "modelId": model_id,
        "modelRevisionId": revision_id,
        "config": f"projects/{project_id}/configs/{config_id}",
        "configId": config_id,
        "hardware": hardware,
        "trafficMode": traffic_mode,
        "autoscaling": {"minReplicas": min_replicas, "maxReplicas": max_replicas},
        "desiredReplicas": desired_replicas,
        "status": {
            "state": state,
            "message": _STATE_MESSAGES.get(state, "") if message is None else message,
            "readyReplicas": ready_replicas,
            "scheduledReplicas": max(ready_replicas, desired_replicas),
        },
        "estimatedEffectiveTrafficShare": 0,
    }
    if inactive_timeout is not None:
        document["inactiveTimeout"] = inactive_timeout
    return document


def deployment_summary(deployment: dict[str, Any]) -> dict[str, Any]:
    """The EndpointDeploymentSummary an endpoint embeds for a full Deployment."""
    summary = {key: deployment[key] for key in _SUMMARY_FIELDS if key in deployment}
    status = deployment.get("status", {})
    summary["state"] = status.get("state")
    summary["estimatedEffectiveTrafficShare"] = deployment.get("estimatedEffectiveTrafficShare", 0)
    summary["readyReplicas"] = status.get("readyReplicas", 0)
    summary["hardware"] = deployment.get("hardware")
    return summary


def effective_shares(
    traffic_split: Sequence[dict[str, Any]], deployments: Sequence[dict[str, Any]]
) -> dict[str, float]:
    """Each deployment's share of live traffic: capacity is weight x ready replicas (spec, trafficSplit)."""
    ready = {
        d["id"]: d.get("status", {}).get("readyReplicas", 0)
        for d in deployments
        if d.get("trafficMode") == "TRAFFIC_MODE_LIVE"
    }
    capacity = {entry["deploymentId"]: entry["weight"] * ready.get(entry["deploymentId"], 0) for entry in traffic_split}
    total = sum(capacity.values())
    return {d["id"]: round(capacity.get(d["id"], 0) / total, 4) if total else 0 for d in deployments}


def embed_deployments(endpoint: dict[str, Any], deployments: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``endpoint`` with shares filled in and summaries of its 10 newest deployments embedded (createdAt desc)."""
    shares = effective_shares(endpoint.get("trafficSplit", []), deployments)
    newest = sorted(deployments, key=lambda d: (d["createdAt"], d["id"]), reverse=True)[:EMBEDDED_SUMMARIES]
    summaries = [deployment_summary({**d, "estimatedEffectiveTrafficShare": shares[d["id"]]}) for d in newest]
    return {**endpoint, "deployments": summaries}


def make_v2_endpoint(
    endpoint_id: str | None = None,
    *,
    project_id: str = DEFAULT_PROJECT_ID,
    name: str | None = None,
    deployments: Sequence[dict[str, Any]] | None = None,
    traffic_split: Sequence[dict[str, Any]] | None = None,
    endpoint_type: str = "ENDPOINT_TYPE_DEDICATED",
    visibility: str = "VISIBILITY_PRIVATE",
    created_at: str = CREATED_AT,
    updated_at: str | None = None,
    active_rollout_id: str | None = None,
) -> dict[str, Any]:
    """An Endpoint (get/list endpoint shape) embedding summaries of ``deployments`` (full Deployments).

    Without ``deployments`` it has one READY deployment. Without ``traffic_split``
    every LIVE deployment gets weight 1.
    """
    endpoint_id = endpoint_id or _short_id("ep")
    if deployments is None:
        deployments = [make_v2_deployment(f"dep_{endpoint_id[-12:]}", endpoint_id=endpoint_id, project_id=project_id)]
    if traffic_split is None:
        traffic_split = [
            {"deploymentId": d["id"], "weight": 1} for d in deployments if d.get("trafficMode") == "TRAFFIC_MODE_LIVE"
        ]
    endpoint: dict[str, Any] = {
        "id": endpoint_id,
        "projectId": project_id,
        "name": name or f"{DEFAULT_PROJECT_SLUG}/{endpoint_id}",
        "endpointType": endpoint_type,
        "visibility": visibility,
        "createdAt": created_at,
        "updatedAt": updated_at or created_at,
        "etag": uuid.uuid4().hex[:10],
        "trafficSplit": [dict(entry) for entry in traffic_split],
    }
    if active_rollout_id is not None:
        endpoint["activeRolloutId"] = active_rollout_id
    return embed_deployments(endpoint, deployments)


def make_v2_event(
    endpoint_id: str,
    *,
    created_at: str,
    level: str = "LEVEL_INFO",
    event_type: str = "deployment.scaled",
    deployment_id: str | None = None,
    message: str = "Scaled from 1 to 2 replicas",
    event_id: str | None = None,
    source: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An EndpointEvent: deployment-scoped when ``deployment_id`` is given, endpoint-scoped otherwise."""
    event: dict[str, Any] = {
        "id": event_id or _short_id("evt"),
        "createdAt": created_at,
        "endpointId": endpoint_id,
        "level": level,
        "source": source or ("deployment-controller" if deployment_id else "endpoint-service"),
        "sourceKind": "SOURCE_KIND_DEPLOYMENT" if deployment_id else "SOURCE_KIND_ENDPOINT",
        "type": event_type,
        "message": message,
        **fields,
    }
    if deployment_id is not None:
        event["deploymentId"] = deployment_id
    return event


def make_instance_type(
    instance_type_id: str = "2xnvidia-h100-80gb",
    *,
    gpu_type: str = "H100",
    gpu_count: int = 2,
    gpu_memory_gib: int = 80,
    price_cents_per_hour: int = 698,
    regions: Sequence[str] = ("us-east-1",),
) -> dict[str, Any]:
    """An InferenceInstanceType with a price and best-effort headroom per region."""
    return {
        "id": instance_type_id,
        "name": f"{gpu_count}x NVIDIA {gpu_type} {gpu_memory_gib}GB",
        "description": f"{gpu_count} NVIDIA {gpu_type} GPU(s) with {gpu_memory_gib} GiB of memory each",
        "gpuType": gpu_type,
        "gpuCount": gpu_count,
        "gpuMemoryGib": gpu_memory_gib,
        "priceCentsPerHour": price_cents_per_hour,
        "regions": [{"name": region, "headroom": {"relation": "RELATION_GTE", "value": 4}} for region in regions],
    }


def default_instance_types() -> list[dict[str, Any]]:
    """The catalog the simulator serves until a test puts its own."""
    return [
        make_instance_type("1xnvidia-h100-80gb", gpu_count=1, price_cents_per_hour=349),
        make_instance_type("2xnvidia-h100-80gb", gpu_count=2, price_cents_per_hour=698),
        make_instance_type(
            "1xnvidia-h200-141gb", gpu_type="H200", gpu_memory_gib=141, gpu_count=1, price_cents_per_hour=449
        ),
    ]
