"""Idle spend: a deployment that holds READY replicas and served no request over ``idle_after_hours``.

"Has held READY replicas for that long" is approximated from what one read shows:
READY now, with ready replicas, and created at or before the window's start. A
younger deployment is skipped (it cannot have been idle for the whole window).
The window is [end - hours, end), where ``end`` is when its analytics were read.

What a lookup records, without analytics, carries the idle findings a sweep last
made forward (:func:`carried`) for as long as their deployments still hold READY
replicas, so the alert never flaps between a sweep and a lookup.

Pure: the caller reads analytics and prices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from endpoint_relay.core.analytics import RequestCounts
from endpoint_relay.core.money import cost_over_minutes, dollars, per_hour, replicas_cost
from endpoint_relay.core.policy import SEVERITY_ORDER, Finding, FindingKind, Severity, new_finding
from endpoint_relay.core.v2_models import Deployment, DeploymentState

_MAX_SHOWN = 200


@dataclass(frozen=True, slots=True)
class IdleWindow:
    hours: float
    end: float
    """Epoch seconds: the exclusive end of the window the analytics covered."""

    @property
    def start(self) -> float:
        return self.end - self.hours * 3600.0

    @property
    def minutes(self) -> int:
        return max(1, round(self.hours * 60))


def holds_ready_replicas(deployment: Deployment) -> bool:
    return deployment.state == DeploymentState.READY and (deployment.ready_replicas or 0) > 0


def candidates(deployments: Iterable[Deployment], window: IdleWindow) -> tuple[Deployment, ...]:
    """The deployments the window can judge: READY with ready replicas, and created by its start."""
    return tuple(
        deployment
        for deployment in deployments
        if holds_ready_replicas(deployment) and created_by(deployment, window.start)
    )


def created_by(deployment: Deployment, instant: float) -> bool:
    """Whether the deployment existed at ``instant``; an unreadable ``createdAt`` proves nothing (False)."""
    if deployment.created_at is None:
        return False
    try:
        created = datetime.fromisoformat(deployment.created_at)
    except ValueError:
        return False
    return (created if created.tzinfo is not None else created.replace(tzinfo=UTC)).timestamp() <= instant


def idle_findings(
    deployments: Iterable[Deployment],
    counts: RequestCounts,
    window: IdleWindow,
    price: Callable[[str | None], int | None],
) -> tuple[Finding, ...]:
    """One WARNING per candidate that served zero requests; an unknown count never fires."""
    return tuple(
        _finding(deployment, window, price(deployment.hardware))
        for deployment in candidates(deployments, window)
        if counts.of(deployment.id) == 0
    )


def carried(previous: Iterable[Finding], deployments: Sequence[Deployment], hours: float | None) -> tuple[Finding, ...]:
    """The idle findings last recorded, kept while their deployments still hold READY replicas (and it is on)."""
    if hours is None:
        return ()
    holding = {deployment.id for deployment in deployments if holds_ready_replicas(deployment)}
    return tuple(f for f in previous if f.kind == FindingKind.IDLE_SPEND and f.subject in holding)


def merged(findings: Sequence[Finding], idle: Sequence[Finding]) -> tuple[Finding, ...]:
    """Both sets in the policy's order: most severe first, then by kind and deployment."""
    order = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
    every = [*findings, *idle]
    every.sort(key=lambda finding: (order[finding.severity], finding.kind, finding.subject or ""))
    return tuple(every)


def idle_cents(ready_replicas: int, cents_per_replica_hour: int | None, window: IdleWindow) -> int | None:
    """What ``ready_replicas`` billed over the window, in whole cents; ``None`` when the price is unknown."""
    hourly = replicas_cost(ready_replicas, cents_per_replica_hour)
    return None if hourly is None else cost_over_minutes(hourly, window.minutes)


def hours_text(hours: float) -> str:
    return f"{hours:g} h"


def _finding(deployment: Deployment, window: IdleWindow, price: int | None) -> Finding:
    replicas = deployment.ready_replicas or 0
    spent = idle_cents(replicas, price, window)
    span = hours_text(window.hours)
    if spent is None or price is None:
        cost = f"price unknown ({(deployment.hardware or 'no hardware')[:_MAX_SHOWN]})"
    else:
        cost = f"{dollars(spent)} spent idle ({replicas} x {per_hour(price)} x {span})"
    name = (deployment.name or "")[:_MAX_SHOWN]
    who = f"{name} ({deployment.id})" if name else deployment.id
    return new_finding(
        FindingKind.IDLE_SPEND,
        Severity.WARNING,
        f"Deployment {who} served no requests in {span} while holding {replicas} READY replica(s): {cost}",
        # Stable across sweeps (no counts or instants), so the alert reminds instead of changing.
        expected=f"at least one request in {span} (idle_after_hours)",
        actual="no requests",
        subject=deployment.id,
    )
