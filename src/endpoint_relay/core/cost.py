"""What an endpoint or a deployment bills now, and what it can reach at its maximum.

v2 deployments report ``readyReplicas``: those are what bills now. A v1
endpoint reports no replica count, so while it is not stopped it is counted at
its ``min_replicas`` (the least it holds; marked as an estimate). The ceiling
is ``max_replicas`` of the same hardware. Pure, integer cents throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.money import per_hour, replicas_cost
from endpoint_relay.core.replica_bounds import replica_bounds
from endpoint_relay.core.v2_models import Deployment, DeploymentState

_V1_HOLDING_STATES = frozenset({"PENDING", "STARTING", "STARTED", "STOPPING", "ERROR"})
"""v1 states in which an endpoint may hold replicas; STOPPED (and anything unknown) holds none."""
_NOT_SERVING = {DeploymentState.FAILED.value: "failed", DeploymentState.DEGRADED.value: "degraded"}


@dataclass(frozen=True, slots=True)
class Spend:
    """Replicas held, the price of one, and the bound they can grow to."""

    hardware: str | None
    replicas: int
    cents_per_replica_hour: int | None
    max_replicas: int | None = None
    estimated: bool = False
    """v1: ``replicas`` is the endpoint's ``min_replicas``, not a reported count."""

    @property
    def now_cents(self) -> int | None:
        """Per hour, now; ``None`` when replicas are held at an unknown price."""
        return replicas_cost(self.replicas, self.cents_per_replica_hour)

    @property
    def ceiling_cents(self) -> int | None:
        """Per hour at ``max_replicas``; ``None`` when unknown or no higher than now."""
        if self.max_replicas is None or self.max_replicas <= self.replicas:
            return None
        return replicas_cost(self.max_replicas, self.cents_per_replica_hour)

    def text(self) -> str:
        """``$95.76/h``, ``at least $6.98/h, up to $34.90/h at 5 replicas`` or ``price unknown (hw)``."""
        now = self.now_cents
        if now is None:
            return f"price unknown ({self.hardware or 'no hardware named'})"
        words = f"at least {per_hour(now)}" if self.estimated and now else per_hour(now)
        ceiling = self.ceiling_cents
        if ceiling is not None and ceiling != now:
            words += f", up to {per_hour(ceiling)} at {self.max_replicas} replicas"
        return words


def deployment_spend(deployment: Deployment, cents_per_replica_hour: int | None) -> Spend:
    _, high = replica_bounds(deployment.autoscaling)
    return Spend(
        hardware=deployment.hardware,
        replicas=deployment.ready_replicas or 0,
        cents_per_replica_hour=cents_per_replica_hour,
        max_replicas=high,
    )


def v1_spend(endpoint: V1Endpoint, cents_per_replica_hour: int | None) -> Spend:
    low, high = replica_bounds(endpoint.autoscaling)
    return v1_spend_of(endpoint.state, endpoint.hardware, low, high, cents_per_replica_hour)


def v1_spend_of(
    state: str,
    hardware: str | None,
    min_replicas: int | None,
    max_replicas: int | None,
    cents_per_replica_hour: int | None,
) -> Spend:
    """As :func:`v1_spend`, from the fields a stored notice keeps (unknown bounds: nothing counted)."""
    holding = state in _V1_HOLDING_STATES and min_replicas is not None
    return Spend(
        hardware=hardware or None,
        replicas=min_replicas if holding and min_replicas is not None else 0,
        cents_per_replica_hour=cents_per_replica_hour,
        max_replicas=max_replicas,
        estimated=True,
    )


def not_serving_note(state: str, spend: Spend) -> str | None:
    """For a FAILED or DEGRADED deployment that still holds replicas: it pays for replicas that do not serve."""
    condition = _NOT_SERVING.get(state)
    if condition is None or spend.replicas <= 0:
        return None
    cost = spend.now_cents
    price = per_hour(cost) if cost is not None else "an unknown price"
    return f"{condition}, yet still holds {spend.replicas} replica(s) billing {price} that do not serve"
