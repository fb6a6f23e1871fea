"""The v2 endpoints the local stack seeds in the simulator's default project, one per story the demo tells.

Beside the v1 ones (devstack/stack.py): a healthy endpoint; one whose deployment
FAILED, with an ERROR event saying why; one DEGRADED and short of replicas; one
stuck PROVISIONING; and one the policy expects stopped that still has a READY
replica (it keeps billing). Ids are fixed so the docs and the demo can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.together_v2_docs import (
    DEFAULT_PROJECT_ID,
    make_instance_type,
    make_v2_deployment,
    make_v2_endpoint,
    make_v2_event,
)

V2_HEALTHY_ID = "ep_demo-healthy"
V2_FAILED_ID = "ep_demo-failed"
V2_DEGRADED_ID = "ep_demo-degraded"
V2_PROVISIONING_ID = "ep_demo-stuck-provisioning"
V2_FORGOTTEN_ID = "ep_demo-forgotten"
V2_SEEDED_IDS = (V2_HEALTHY_ID, V2_FAILED_ID, V2_DEGRADED_ID, V2_PROVISIONING_ID, V2_FORGOTTEN_ID)
V2_FIRING_IDS = V2_SEEDED_IDS[1:]
"""The ones the demo policy finds something wrong with."""
V2_IDLE_ID = "ep_demo-idle"
"""Put in the simulator by the idle-spend demo step only (not seeded), so earlier sweeps never see it."""
IDLE_DEMO_HOURS = 0.05
"""A 3-minute window: the deployment, weeks old, has served nothing in it; a quarter window is 45 seconds."""


@dataclass(frozen=True)
class SeededV2:
    endpoint: dict[str, Any]
    deployments: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _one(
    endpoint_id: str,
    title: str,
    *,
    events: list[dict[str, Any]] | None = None,
    project_id: str = DEFAULT_PROJECT_ID,
    **deployment: Any,
) -> SeededV2:
    made = make_v2_deployment(
        f"dep_{endpoint_id.removeprefix('ep_')}-1",
        endpoint_id=endpoint_id,
        project_id=project_id,
        name=f"{title} / rollout 1",
        **deployment,
    )
    endpoint = make_v2_endpoint(endpoint_id, project_id=project_id, name=title, deployments=[made])
    return SeededV2(endpoint, [made], events or [])


def seeded_v2_endpoints(now: datetime | None = None) -> list[SeededV2]:
    """The demo's v2 endpoints; events are stamped shortly before ``now``, as if the trouble just began."""
    now = now or datetime.now(UTC)
    failed_dep = f"dep_{V2_FAILED_ID.removeprefix('ep_')}-1"
    degraded_dep = f"dep_{V2_DEGRADED_ID.removeprefix('ep_')}-1"
    return [
        _one(V2_HEALTHY_ID, "Chat v2 (healthy)", min_replicas=1, max_replicas=2),
        _one(
            V2_FAILED_ID,
            "Embeddings v2 (failed)",
            state="DEPLOYMENT_STATE_FAILED",
            message="Timed out waiting for readiness",
            events=[
                make_v2_event(
                    V2_FAILED_ID,
                    created_at=_iso(now - timedelta(minutes=3)),
                    level="LEVEL_WARN",
                    event_type="deployment.replica_unhealthy",
                    deployment_id=failed_dep,
                    message="Readiness probe failed: HTTP 503 on /health",
                ),
                make_v2_event(
                    V2_FAILED_ID,
                    created_at=_iso(now - timedelta(minutes=2)),
                    level="LEVEL_ERROR",
                    event_type="deployment.failed",
                    deployment_id=failed_dep,
                    message="Container exited with code 137 (OOMKilled) while loading weights",
                ),
            ],
        ),
        _one(
            V2_DEGRADED_ID,
            "Rerank v2 (degraded)",
            state="DEPLOYMENT_STATE_DEGRADED",
            min_replicas=2,
            max_replicas=4,
            desired_replicas=2,
            ready_replicas=1,
            events=[
                make_v2_event(
                    V2_DEGRADED_ID,
                    created_at=_iso(now - timedelta(minutes=2)),
                    level="LEVEL_WARN",
                    event_type="deployment.replica_lost",
                    deployment_id=degraded_dep,
                    message="Replica 2 of 2 evicted: node drained for maintenance",
                )
            ],
        ),
        _one(V2_PROVISIONING_ID, "Vision v2 (stuck provisioning)", state="DEPLOYMENT_STATE_PROVISIONING"),
        _one(V2_FORGOTTEN_ID, "Experiment v2 (should be stopped)", min_replicas=1, max_replicas=1),
    ]


COSTLY_INSTANCE_TYPE = "3xnvidia-h100-80gb"
COSTLY_CENTS_PER_REPLICA_HOUR = 3192
V2_COSTLY_ID = "ep_demo-costly"
"""Put in the simulator by the cost demo step only (not seeded): a FAILED deployment that still bills."""


def costly_v2_endpoint(project_id: str = DEFAULT_PROJECT_ID) -> SeededV2:
    """A FAILED deployment still holding 3 ready replicas of ``COSTLY_INSTANCE_TYPE``: it bills without serving."""
    return _one(
        V2_COSTLY_ID,
        "Rerank v2 (failed, still billing)",
        project_id=project_id,
        state="DEPLOYMENT_STATE_FAILED",
        min_replicas=3,
        max_replicas=3,
        desired_replicas=3,
        ready_replicas=3,
        hardware=COSTLY_INSTANCE_TYPE,
        message="Deployment failed: health check timed out after 600s",
    )


def seeded_instance_types() -> list[dict[str, Any]]:
    """Added to the simulator's catalogue from the start: the relay caches the catalogue for an hour, so a price
    put later would not be seen (the demo's "costed notice" step uses this one)."""
    return [make_instance_type(COSTLY_INSTANCE_TYPE, gpu_count=3, price_cents_per_hour=COSTLY_CENTS_PER_REPLICA_HOUR)]


def demo_policy_v2(overdue_after_minutes: float) -> dict[str, dict[str, Any]]:
    """Policy entries for the v2 endpoints (bare ``ep_…`` keys: the default project).

    The stuck and short-of-replicas clocks get a short limit, as the v1 stuck
    endpoint does, so a local run shows those findings without waiting.
    """
    return {
        V2_DEGRADED_ID: {"under_replicated_after_minutes": overdue_after_minutes},
        V2_PROVISIONING_ID: {"stuck_after_minutes": overdue_after_minutes},
        V2_FORGOTTEN_ID: {"expected_state": "stopped"},
        V2_IDLE_ID: {"idle_after_hours": IDLE_DEMO_HOURS},
    }


def idle_v2_endpoint() -> SeededV2:
    """A READY deployment with two replicas, created weeks ago, that nobody sends requests to."""
    return _one(V2_IDLE_ID, "Summaries v2 (forgotten after a test)", min_replicas=2, max_replicas=2)
