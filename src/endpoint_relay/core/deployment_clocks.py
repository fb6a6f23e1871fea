"""Per-deployment clocks behind the v2 "for longer than" findings.

Each deployment keeps its own start times: since when it has been in its
current state (for "stuck"), and since when it has been short of replicas
while serving (for "under-replicated", whatever moves it makes among the
serving states meanwhile). Another deployment's transition never restarts them.

Pure; the alert state stores them next to the endpoint's tracked state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from endpoint_relay.core.replica_bounds import replica_bounds
from endpoint_relay.core.v2_models import Deployment, DeploymentState

SERVING_STATES = frozenset({DeploymentState.READY, DeploymentState.SCALING, DeploymentState.DEGRADED})
"""States in which a deployment answers requests (DEGRADED and SCALING below or around capacity)."""


class DeploymentClock(NamedTuple):
    """One deployment's start times; stored as its own tuple, ``[deployment_id, state, since, short_since]``."""

    deployment_id: str
    state: str
    since: float
    """When the deployment was first seen in ``state``."""
    short_since: float | None = None
    """When it became short of replicas while serving; None while it is not."""


Clocks = tuple[DeploymentClock, ...]


def min_replicas(deployment: Deployment) -> int:
    # proto3 JSON omits a zero: an absent minReplicas is 0, as in the v1 view.
    low, _ = replica_bounds(deployment.autoscaling)
    return low or 0


def is_short(deployment: Deployment) -> bool:
    """Serving with fewer ready replicas than its minimum; an absent ``readyReplicas`` is not judged."""
    ready = deployment.ready_replicas
    return deployment.state in SERVING_STATES and ready is not None and ready < min_replicas(deployment)


def carry_clocks(deployments: Sequence[Deployment], previous: Clocks | None, *, fallback: float, now: float) -> Clocks:
    """The clocks for ``deployments`` now: an unchanged condition keeps its start, a new or changed one starts now.

    Deployments no longer listed are dropped. ``previous`` is None for alert state stored
    before the clocks existed: every clock then starts at ``fallback`` (the endpoint's own
    ``state_since``), as the single clock did.
    """
    before = {clock.deployment_id: clock for clock in previous or ()}
    start = now if previous is not None else fallback
    current: dict[str, DeploymentClock] = {}
    for deployment in deployments:
        old = before.get(deployment.id)
        since = old.since if old is not None and old.state == deployment.state else start
        short_since = None
        if is_short(deployment):
            short_since = old.short_since if old is not None and old.short_since is not None else start
        current[deployment.id] = DeploymentClock(deployment.id, deployment.state, since, short_since)
    return tuple(current[key] for key in sorted(current))


def clocks_to_json(clocks: Clocks) -> str:
    return json.dumps(clocks, separators=(",", ":"))


def clocks_from_json(text: str | None) -> Clocks | None:
    """Read back; None when absent or unreadable, so the clocks restart from the endpoint's ``state_since``."""
    if text is None:
        return None
    try:
        return tuple(
            DeploymentClock(str(key), str(state), float(since), None if short is None else float(short))
            for key, state, since, short in json.loads(text)
        )
    except (TypeError, ValueError):
        return None
