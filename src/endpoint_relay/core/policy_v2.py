"""The health policy for v2 endpoints: findings per deployment, and the endpoint's desired state.

A v2 endpoint routes traffic to deployments, and the model, replicas and state
live on each deployment, so the policy looks at every *watched* deployment:
one that is live (a positive weight in ``trafficSplit``, not SHADOW), the newest
(the one being brought up or the last that ran), or created in the last
:data:`RECENT_SECONDS`. An old failed rollout nobody routes to stops alerting
once a day has passed; a live one never does.

Timing ("stuck", "under-replicated beyond the grace period") is measured per
deployment, by its :mod:`~endpoint_relay.core.deployment_clocks`, so one
deployment's transition never restarts another's clock. Without clocks (no
stored state yet) the endpoint's ``state_since`` stands in for all of them.

Pure, like :mod:`endpoint_relay.core.policy`; the readers never fail on
upstream values they do not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from endpoint_relay.core.deployment_clocks import (
    SERVING_STATES,
    Clocks,
    DeploymentClock,
    is_short,
    min_replicas,
)
from endpoint_relay.core.policy import (
    SEVERITY_ORDER,
    Expectations,
    ExpectedState,
    Finding,
    FindingKind,
    Severity,
    duration_text,
    new_finding,
    utc_text,
)
from endpoint_relay.core.v2_models import (
    MAX_EMBEDDED_DEPLOYMENTS,
    Deployment,
    DeploymentState,
    Endpoint,
    TrafficMode,
)

RECENT_SECONDS = 24 * 3600.0
"""A deployment created this recently is watched even when no traffic reaches it."""
_MAX_SHOWN = 200
"""Upstream text (a state, a status message) repeated in a finding at most this long."""


def candidates(endpoint: Endpoint, deployments: Sequence[Deployment] | None) -> tuple[Deployment, ...]:
    """The full deployments list when fetched, else the (at most 10) summaries the endpoint embeds."""
    return tuple(endpoint.deployments if deployments is None else deployments)


def live_weights(endpoint: Endpoint, deployments: Sequence[Deployment]) -> dict[str, float]:
    """Deployment id to its weight, for the deployments that answer clients (positive weight, not SHADOW)."""
    weights: dict[str, float] = {}
    for entry in endpoint.traffic_split:
        weights[entry.deployment_id] = max(weights.get(entry.deployment_id, 0.0), entry.weight)
    shadow = {deployment.id for deployment in deployments if deployment.traffic_mode == TrafficMode.SHADOW}
    return {key: weight for key, weight in weights.items() if weight > 0 and key not in shadow}


def watched(endpoint: Endpoint, deployments: Sequence[Deployment], now: float) -> tuple[Deployment, ...]:
    """The deployments the policy judges: live, newest, or recently created; in the order given."""
    live = live_weights(endpoint, deployments)
    newest = max(deployments, key=lambda deployment: _instant(deployment.created_at), default=None)
    return tuple(
        deployment
        for deployment in deployments
        if deployment.id in live or deployment is newest or now - _instant(deployment.created_at) <= RECENT_SECONDS
    )


def tracked_state(endpoint: Endpoint, deployments: Sequence[Deployment] | None = None) -> str:
    """One string that changes whenever any deployment's state (or its being short of replicas) changes."""
    parts = sorted(
        f"{deployment.id}={deployment.state}{'+short' if is_short(deployment) else ''}"
        for deployment in candidates(endpoint, deployments)
    )
    return ";".join(parts) or "no deployments"


def evaluate_v2(
    endpoint: Endpoint,
    deployments: Sequence[Deployment] | None,
    expected: Expectations,
    *,
    state_since: float | None,
    now: float,
    clocks: Clocks | None = None,
) -> tuple[Finding, ...]:
    """Findings for one v2 endpoint, most severe first; without clocks or ``state_since`` nothing can be overdue."""
    every = candidates(endpoint, deployments)
    by_id = {clock.deployment_id: clock for clock in clocks or ()}
    findings: list[Finding] = []
    for deployment in watched(endpoint, every, now):
        clock = by_id.get(deployment.id) or _single_clock(deployment, state_since)
        findings += _deployment_findings(deployment, expected, clock, now)
    live = live_weights(endpoint, every)
    # The running grace restarts only when a live deployment moves (a restart, a switch-over).
    live_since = [by_id[key].since for key in live if key in by_id]
    since = max(live_since) if live_since else state_since
    elapsed = None if since is None else (now - since) / 60.0
    # With a full set of embedded summaries, older deployments may exist unseen.
    complete = deployments is not None or len(endpoint.deployments) < MAX_EMBEDDED_DEPLOYMENTS
    findings += _desired_state_findings(endpoint, every, expected, elapsed, complete=complete)
    order = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
    findings.sort(key=lambda finding: (order[finding.severity], finding.kind, finding.subject or ""))
    return tuple(findings)


def _single_clock(deployment: Deployment, state_since: float | None) -> DeploymentClock | None:
    if state_since is None:
        return None
    return DeploymentClock(deployment.id, deployment.state, state_since, state_since if is_short(deployment) else None)


def _deployment_findings(
    deployment: Deployment, expected: Expectations, clock: DeploymentClock | None, now: float
) -> list[Finding]:
    state, who = deployment.state, _who(deployment)
    if not deployment.state_is_known:
        return [
            _finding(
                deployment,
                FindingKind.STATE_UNKNOWN,
                Severity.WARNING,
                f"Deployment {who} reports a state this relay does not know (has the API changed?)",
                expected="a documented DEPLOYMENT_STATE_ value",
                actual=state[:_MAX_SHOWN],
            )
        ]
    if state in (DeploymentState.STOPPED, DeploymentState.STOPPING):
        return []
    if state == DeploymentState.FAILED:
        reason = f" ({deployment.status_message[:_MAX_SHOWN]})" if deployment.status_message else ""
        return [
            _finding(
                deployment,
                FindingKind.STATE_FAILED,
                Severity.CRITICAL,
                f"Deployment {who} failed{reason}",
                expected="a state other than FAILED",
                actual=state,
            )
        ]
    findings = _replica_findings(deployment, expected)
    if state == DeploymentState.DEGRADED:
        findings.append(
            _finding(
                deployment,
                FindingKind.STATE_DEGRADED,
                Severity.WARNING,
                f"Deployment {who} is degraded (below requested capacity)",
                expected="READY",
                actual=state,
            )
        )
    if clock is not None:
        findings += _overdue_findings(deployment, expected, clock, now)
    return findings


def _overdue_findings(
    deployment: Deployment, expected: Expectations, clock: DeploymentClock, now: float
) -> list[Finding]:
    findings: list[Finding] = []
    elapsed = (now - clock.since) / 60.0
    if deployment.state == DeploymentState.PROVISIONING and elapsed > expected.stuck_after_minutes:
        findings.append(
            _finding(
                deployment,
                FindingKind.STATE_STUCK,
                Severity.WARNING,
                f"Deployment {_who(deployment)} has been provisioning for {duration_text(elapsed)}",
                expected=f"at most {duration_text(expected.stuck_after_minutes)} in PROVISIONING",
                actual=f"PROVISIONING since {utc_text(clock.since)}",
            )
        )
    grace = expected.under_replicated_after_minutes
    short_since = clock.short_since
    if short_since is not None and is_short(deployment) and (now - short_since) / 60.0 > grace:
        findings.append(
            _finding(
                deployment,
                FindingKind.UNDER_REPLICATED,
                Severity.WARNING,
                f"Deployment {_who(deployment)} has {deployment.ready_replicas} ready replica(s), "
                f"below its minimum of {min_replicas(deployment)}",
                expected=f"readyReplicas >= minReplicas within {duration_text(grace)}",
                # The timestamp, not the count, keeps the finding stable while replicas come and go.
                actual=f"below minReplicas since {utc_text(short_since)}",
            )
        )
    return findings


def _replica_findings(deployment: Deployment, expected: Expectations) -> list[Finding]:
    """The v1 bounds, applied to a deployment's autoscaling (an omitted bound reads as in the v1 view)."""
    if deployment.autoscaling is None:
        return [
            _finding(
                deployment,
                FindingKind.AUTOSCALING_MISSING,
                Severity.WARNING,
                f"Deployment {_who(deployment)}'s autoscaling settings are missing or unreadable",
                expected="autoscaling with minReplicas and maxReplicas",
                actual="missing or unreadable",
            )
        ]
    low = min_replicas(deployment)
    high = deployment.autoscaling.max_replicas if deployment.autoscaling.max_replicas is not None else low
    checks = (
        (
            low > high,
            FindingKind.REPLICAS_INVERTED,
            Severity.CRITICAL,
            "minReplicas is greater than maxReplicas",
            "minReplicas <= maxReplicas",
            f"minReplicas={low}, maxReplicas={high}",
        ),
        (
            expected.min_replicas is not None and low < expected.min_replicas,
            FindingKind.MIN_REPLICAS_BELOW_EXPECTED,
            Severity.CRITICAL,
            "minReplicas is below the expected minimum" + (" (scaled to zero)" if low == 0 else ""),
            f"minReplicas >= {expected.min_replicas}",
            f"minReplicas={low}",
        ),
        (
            expected.max_replicas is not None and high > expected.max_replicas,
            FindingKind.MAX_REPLICAS_ABOVE_EXPECTED,
            Severity.WARNING,
            "maxReplicas is above the expected maximum (cost)",
            f"maxReplicas <= {expected.max_replicas}",
            f"maxReplicas={high}",
        ),
    )
    return [
        _finding(deployment, kind, severity, f"Deployment {_who(deployment)}: {summary}", expected=want, actual=got)
        for applies, kind, severity, summary, want, got in checks
        if applies
    ]


def _desired_state_findings(
    endpoint: Endpoint,
    deployments: Sequence[Deployment],
    expected: Expectations,
    elapsed: float | None,
    *,
    complete: bool,
) -> list[Finding]:
    if expected.expected_state is ExpectedState.STOPPED:
        ready = sum(deployment.ready_replicas or 0 for deployment in deployments)
        if ready == 0:
            return []
        return [
            new_finding(
                FindingKind.NOT_STOPPED,
                Severity.WARNING,
                f"The endpoint should be stopped, but {ready} replica(s) are ready and billing",
                expected="no ready replicas (expected_state: stopped)",
                actual="replicas ready",
            )
        ]
    if expected.expected_state is not ExpectedState.RUNNING:
        return []
    live = live_weights(endpoint, deployments)
    if any(deployment.id in live and deployment.state in SERVING_STATES for deployment in deployments):
        return []
    if not complete and not live.keys() <= {deployment.id for deployment in deployments}:
        return []  # a live deployment older than the 10 embedded ones is not seen: it may well be serving
    if elapsed is None or elapsed <= expected.under_replicated_after_minutes:
        return []  # a restart or a rollout's switch-over is given the grace period
    return [
        new_finding(
            FindingKind.NOT_RUNNING,
            Severity.CRITICAL,
            "The endpoint should be running, but no deployment that receives traffic is serving",
            expected="a live deployment READY, SCALING or DEGRADED (expected_state: running)",
            actual="none serving",
        )
    ]


def _finding(
    deployment: Deployment, kind: FindingKind, severity: Severity, summary: str, *, expected: str, actual: str
) -> Finding:
    return new_finding(kind, severity, summary, expected=expected, actual=actual, subject=deployment.id)


def _who(deployment: Deployment) -> str:
    name = (deployment.name or "")[:_MAX_SHOWN]
    return f"{name} ({deployment.id})" if name else deployment.id


def _instant(text: str | None) -> float:
    """Epoch seconds of an RFC 3339 time; a missing or unreadable one counts as the oldest."""
    if text is None:
        return float("-inf")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return float("-inf")
    return (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)).timestamp()
