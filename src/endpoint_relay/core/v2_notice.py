"""What a v2 notice remembers of the deployments and of the events feed, frozen when it is issued.

A stored notice is read back later (for delivery, by another invocation), so
these are plain values with a JSON form; a notice stored before they existed
reads as having none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from endpoint_relay.core.cost import Spend
from endpoint_relay.core.replica_bounds import replica_bounds
from endpoint_relay.core.v2_models import MAX_EMBEDDED_DEPLOYMENTS, Deployment, Event, EventLevel

MAX_DEPLOYMENTS_SHOWN = MAX_EMBEDDED_DEPLOYMENTS
"""A notice names no more deployments than an endpoint embeds."""
MAX_REASONS = 3
_MAX_MESSAGE_CHARS = 500
_REASON_LEVELS = frozenset({EventLevel.WARN, EventLevel.ERROR})


@dataclass(frozen=True, slots=True)
class DeploymentSnapshot:
    """A deployment as a notice stores it; a status reply renders the live one through the same record."""

    id: str
    name: str | None
    state: str
    ready_replicas: int | None
    desired_replicas: int | None
    min_replicas: int | None
    max_replicas: int | None
    hardware: str | None
    weight: float | None
    """Its share of live traffic; ``None`` when it receives none."""
    price_cents_per_hour: int | None = None
    """One replica of its hardware when the notice was issued; ``None`` when unknown (or stored before prices)."""

    @property
    def spend(self) -> Spend:
        """Its ready replicas at the price it had when the snapshot was taken."""
        return Spend(
            hardware=self.hardware,
            replicas=self.ready_replicas or 0,
            cents_per_replica_hour=self.price_cents_per_hour,
            max_replicas=self.max_replicas,
        )

    @classmethod
    def of(
        cls, deployment: Deployment, weight: float | None, price_cents_per_hour: int | None = None
    ) -> DeploymentSnapshot:
        low, high = replica_bounds(deployment.autoscaling)
        return cls(
            id=deployment.id,
            name=deployment.name,
            state=deployment.state,
            ready_replicas=deployment.ready_replicas,
            desired_replicas=deployment.desired_replicas,
            min_replicas=low,
            max_replicas=high,
            hardware=deployment.hardware,
            weight=weight,
            price_cents_per_hour=price_cents_per_hour,
        )


@dataclass(frozen=True, slots=True)
class ReasonLine:
    """One WARN or ERROR event quoted in a notice, as sent (escaped when rendered)."""

    level: str
    message: str
    at: str | None
    """The event's ``createdAt`` (RFC 3339), as sent."""
    deployment_id: str | None = None


def deployment_snapshots(
    deployments: Sequence[Deployment], weights: Mapping[str, float], firing: Iterable[str]
) -> tuple[DeploymentSnapshot, ...]:
    """The deployments a notice names: those with findings first, then the live ones, then any other holding
    ready replicas (it bills too); at most ten."""
    concerned = set(firing)
    ranked = sorted(
        deployments,
        key=lambda deployment: (deployment.id not in concerned, -weights.get(deployment.id, 0.0)),
    )
    shown = [
        deployment
        for deployment in ranked
        if deployment.id in concerned or deployment.id in weights or (deployment.ready_replicas or 0) > 0
    ]
    return tuple(DeploymentSnapshot.of(d, weights.get(d.id)) for d in shown[:MAX_DEPLOYMENTS_SHOWN])


def reason_lines(
    events: Iterable[Event], deployment_ids: Iterable[str], limit: int = MAX_REASONS
) -> tuple[ReasonLine, ...]:
    """The newest WARN/ERROR events about the firing deployments (or the endpoint itself), in the feed's order.

    The feed is asked for ``minLevel=LEVEL_WARN``; the level is checked again here, so a
    feed that ignores the filter cannot fill a notice with INFO chatter.
    """
    wanted = set(deployment_ids)
    chosen = [
        event
        for event in events
        if event.level in _REASON_LEVELS
        and event.message
        and (event.deployment_id is None or not wanted or event.deployment_id in wanted)
    ]
    return tuple(
        ReasonLine(str(event.level), (event.message or "")[:_MAX_MESSAGE_CHARS], event.created_at, event.deployment_id)
        for event in chosen[:limit]
    )


def snapshots_to_json(values: Iterable[DeploymentSnapshot | ReasonLine]) -> list[dict[str, Any]]:
    return [asdict(value) for value in values]


def deployments_from_json(items: Any) -> tuple[DeploymentSnapshot, ...]:
    return tuple(DeploymentSnapshot(**item) for item in items or ())


def reasons_from_json(items: Any) -> tuple[ReasonLine, ...]:
    return tuple(ReasonLine(**item) for item in items or ())
