"""The fleet's spend: one line per deployment (or v1 endpoint) that holds replicas, most expensive first.

``/together spend``, ``GET /relay/fleet`` and the daily digest all render this one
value, so they can never disagree. Its JSON form is the documented schema of
``GET /relay/fleet`` (docs/cost.md); money in it is integer cents, never floats.
Pure: the application layer fills it from the lists, the price books and the
alert table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from endpoint_relay.core.cost import Spend
from endpoint_relay.core.money import HOURS_PER_DAY

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class FleetLine:
    key: str
    """The alert-state key of the endpoint: a v1 id or ``proj_…/ep_…``."""
    endpoint_id: str
    project_id: str | None
    """``None`` for a v1 endpoint."""
    deployment_id: str | None
    """The ``dep_…`` that holds the replicas; ``None`` for a v1 endpoint."""
    name: str
    state: str
    spend: Spend
    alert: str
    """``ok``, ``firing``, ``muted`` or ``unknown`` (the alert table could not be read, or there is none)."""
    findings: tuple[str, ...] = ()
    """The kinds of the open findings about this line (its deployment, or the endpoint as a whole)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "endpointId": self.endpoint_id,
            "projectId": self.project_id,
            "deploymentId": self.deployment_id,
            "name": self.name,
            "state": self.state,
            "hardware": self.spend.hardware,
            "replicas": self.spend.replicas,
            "replicasEstimated": self.spend.estimated,
            "maxReplicas": self.spend.max_replicas,
            "centsPerReplicaHour": self.spend.cents_per_replica_hour,
            "centsPerHour": self.spend.now_cents,
            "alert": self.alert,
            "findings": list(self.findings),
        }


def _cost_order(line: FleetLine) -> tuple[int, int, str]:
    # Unknown prices sort first: someone should look at what cannot be costed.
    cents = line.spend.now_cents
    return (0 if cents is None else 1, -(cents or 0), line.key + (line.deployment_id or ""))


@dataclass(frozen=True, slots=True)
class Fleet:
    lines: tuple[FleetLine, ...]
    """Lines holding replicas, most expensive first (an unknown price first of all)."""
    generated_at: str
    """RFC 3339, UTC."""
    unreadable: tuple[str, ...] = ()
    """Sources that could not be read (``v1``, or a project id): the totals leave them out."""

    @classmethod
    def of(cls, lines: Iterable[FleetLine], generated_at: str, unreadable: Iterable[str] = ()) -> Fleet:
        held = [line for line in lines if line.spend.replicas > 0]
        return cls(tuple(sorted(held, key=_cost_order)), generated_at, tuple(sorted(set(unreadable))))

    @property
    def cents_per_hour(self) -> int:
        """The total of the lines whose price is known."""
        return sum(line.spend.now_cents or 0 for line in self.lines)

    @property
    def cents_per_day(self) -> int:
        return self.cents_per_hour * HOURS_PER_DAY

    @property
    def unpriced(self) -> int:
        """Lines holding replicas at an unknown price (left out of the totals)."""
        return sum(1 for line in self.lines if line.spend.now_cents is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": "relay.fleet",
            "schemaVersion": SCHEMA_VERSION,
            "generatedAt": self.generated_at,
            "currency": "USD",
            "totalCentsPerHour": self.cents_per_hour,
            "totalCentsPerDay": self.cents_per_day,
            "unpricedLines": self.unpriced,
            "unreadableSources": list(self.unreadable),
            "data": [line.to_dict() for line in self.lines],
        }


class FleetSource(Protocol):
    """Where the spend reply and the digest read the fleet from (the fleet view, or a test's fixed fleet)."""

    def fleet(self) -> Fleet: ...
