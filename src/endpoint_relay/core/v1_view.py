"""The v1 view of a v2 endpoint: a pure translation to the v1 ``DedicatedEndpoint`` JSON shape.

A v2 endpoint is a stable name that routes traffic among deployments; a v1
endpoint was one model on one piece of hardware with one state. The view takes
the v1 fields that belong to "the" model from the endpoint's primary deployment.

Primary deployment
------------------
1. Live deployments are those with a positive weight in ``trafficSplit`` and a
   ``trafficMode`` that is not SHADOW: only they answer clients (a READY
   deployment with weight 0 gets no traffic; a shadow one's answers are
   dropped). The primary is the live one with the highest weight.
2. With no live deployment, the primary is the newest by ``createdAt``: it is
   the one being brought up or the last one that ran.
3. Ties go to the newer ``createdAt``, then to the earlier position in the
   list (upstream lists the embedded summaries newest first). A missing or
   unreadable ``createdAt`` counts as oldest.

The endpoint embeds only its 10 newest deployments, so a live deployment older
than those is invisible there; callers that fetched the full deployments list
pass it as ``deployments``.

State mapping
-------------
=============================  ==========  =====================================================
v2 state of the primary        v1 state    why
=============================  ==========  =====================================================
(no deployment at all)         STOPPED     nothing can serve; v2 "stopped" is zero replicas
DEPLOYMENT_STATE_STOPPED       STOPPED     zero replicas, not billing (so "all STOPPED" is STOPPED)
DEPLOYMENT_STATE_FAILED        ERROR       terminal; v1's failure state (FAILED is not in v1's enum)
DEPLOYMENT_STATE_PROVISIONING  STARTING    replicas are being placed; nothing serves yet
DEPLOYMENT_STATE_READY         STARTED     all replicas healthy
DEPLOYMENT_STATE_SCALING       STARTED     serving while replicas start or drain
DEPLOYMENT_STATE_DEGRADED      STARTED     serving below capacity, usually self-healing
DEPLOYMENT_STATE_STOPPING      STOPPING    draining after a stop
anything else                  as sent     a state Together adds later is shown, not guessed at
=============================  ==========  =====================================================

The state is the primary's alone: a stopped deployment holding all the weight
reads STOPPED even beside a READY one with weight 0, which gets no traffic.
No v2 state maps to v1's PENDING, so the view never says it. A state
passed through as sent is outside v1's enum on purpose: the relay keeps unknown
states visible (see :mod:`endpoint_relay.core.models`).

Other fields
------------
``id``, ``name`` and ``created_at`` are the endpoint's own (``ep_...`` ids stay as
they are); ``display_name`` is the name without its project slug; ``owner`` is
the ``projectId`` (v2 endpoints belong to projects, not users); ``type`` is
always ``dedicated``, the only value v1 knows. ``model`` (the v2 model resource
name), ``hardware`` and ``autoscaling`` come from the primary. A bound upstream
omitted reads as: ``minReplicas`` 0 (proto3 JSON omits zero values; inferred)
and ``maxReplicas`` equal to ``minReplicas`` (the documented default). With no
primary, ``model`` and ``hardware`` are empty and both bounds are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from endpoint_relay.core.models import EndpointState
from endpoint_relay.core.v2_models import Deployment, DeploymentState, Endpoint, TrafficMode

V1_STATE_BY_DEPLOYMENT_STATE: dict[str, str] = {
    DeploymentState.STOPPED.value: EndpointState.STOPPED.value,
    DeploymentState.FAILED.value: EndpointState.ERROR.value,
    DeploymentState.PROVISIONING.value: EndpointState.STARTING.value,
    DeploymentState.READY.value: EndpointState.STARTED.value,
    DeploymentState.SCALING.value: EndpointState.STARTED.value,
    DeploymentState.DEGRADED.value: EndpointState.STARTED.value,
    DeploymentState.STOPPING.value: EndpointState.STOPPING.value,
}

_OLDEST = datetime.min.replace(tzinfo=UTC)


def primary_deployment(endpoint: Endpoint, deployments: Sequence[Deployment] | None = None) -> Deployment | None:
    """The deployment the v1 view speaks for; ``deployments`` replaces the embedded summaries when given."""
    candidates = endpoint.deployments if deployments is None else deployments
    weights: dict[str, float] = {}
    for entry in endpoint.traffic_split:
        weights[entry.deployment_id] = max(weights.get(entry.deployment_id, 0.0), entry.weight)
    # sorted() is stable, also with reverse=True: equal instants keep their list order.
    newest_first = sorted(candidates, key=lambda deployment: _instant(deployment.created_at), reverse=True)
    live = [
        deployment
        for deployment in newest_first
        if weights.get(deployment.id, 0.0) > 0 and deployment.traffic_mode != TrafficMode.SHADOW
    ]
    if live:
        return max(live, key=lambda deployment: weights[deployment.id])  # max() keeps the first of equals
    return newest_first[0] if newest_first else None


def v1_state(primary: Deployment | None) -> str:
    if primary is None:
        return EndpointState.STOPPED.value
    return V1_STATE_BY_DEPLOYMENT_STATE.get(primary.state, primary.state)


def to_v1_document(endpoint: Endpoint, deployments: Sequence[Deployment] | None = None) -> dict[str, Any]:
    """The v1 ``DedicatedEndpoint`` JSON document for ``endpoint``; see the module docstring for each field."""
    primary = primary_deployment(endpoint, deployments)
    name = endpoint.name or ""
    return {
        "object": "endpoint",
        "id": endpoint.id,
        "name": name,
        "display_name": name.partition("/")[2] or name,
        "model": (primary.model if primary else None) or "",
        "hardware": (primary.hardware if primary else None) or "",
        "type": "dedicated",
        "owner": endpoint.project_id or "",
        "state": v1_state(primary),
        "autoscaling": _v1_autoscaling(primary),
        "created_at": endpoint.created_at or "",
    }


def _v1_autoscaling(primary: Deployment | None) -> dict[str, int]:
    bounds = primary.autoscaling if primary else None
    low = (bounds.min_replicas if bounds else None) or 0
    high = bounds.max_replicas if bounds and bounds.max_replicas is not None else low
    return {"min_replicas": low, "max_replicas": high}


def _instant(text: str | None) -> datetime:
    if text is None:
        return _OLDEST
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return _OLDEST
    # A timestamp without an offset is read as UTC, so it compares with the rest.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
