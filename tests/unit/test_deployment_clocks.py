"""Per-deployment clocks: one deployment's transition never restarts another's "stuck" or "under-replicated" clock."""

from __future__ import annotations

from decimal import Decimal

from endpoint_relay.adapters.alert_store import stored_alert
from endpoint_relay.core.alerting import AlertState, fingerprint
from endpoint_relay.core.deployment_clocks import (
    Clocks,
    DeploymentClock,
    carry_clocks,
    clocks_from_json,
    clocks_to_json,
)
from endpoint_relay.core.policy import Expectations, Finding, FindingKind, PolicyDocument
from endpoint_relay.core.policy_v2 import candidates, evaluate_v2
from endpoint_relay.core.v2_models import Endpoint
from tests.fakes import T0
from tests.unit.v2_builders import DEGRADED, PROVISIONING, READY, SCALING, deployment, endpoint

DEFAULTS: Expectations = PolicyDocument.default().for_v2("proj_x", "ep_x", default_project=None)
MINUTE = 60.0


class Sweeps:
    """What the recorder does each sweep, without the store: carry the clocks forward, then judge."""

    def __init__(self) -> None:
        self.clocks: Clocks | None = ()

    def at(self, subject: Endpoint, now: float) -> tuple[Finding, ...]:
        self.clocks = carry_clocks(candidates(subject, None), self.clocks, fallback=now, now=now)
        return evaluate_v2(subject, None, DEFAULTS, state_since=now, now=now, clocks=self.clocks)


def _kinds(findings: tuple[Finding, ...]) -> set[tuple[str, str | None]]:
    return {(finding.kind, finding.subject) for finding in findings}


def _rollout(live_state: str) -> Endpoint:
    """Live A serving, B (the newest, no traffic yet) provisioning."""
    a = deployment("dep_a", live_state, created_at="2023-11-01T00:00:00Z")
    b = deployment("dep_b", PROVISIONING, ready=0, created_at="2023-11-14T00:00:00Z")
    return endpoint(a, b, split={"dep_a": 100.0})


def test_a_stuck_deployment_stays_stuck_while_another_one_scales() -> None:
    sweeps = Sweeps()
    sweeps.at(_rollout(READY), T0)
    stuck = sweeps.at(_rollout(READY), T0 + 31 * MINUTE)
    assert (FindingKind.STATE_STUCK, "dep_b") in _kinds(stuck)
    # A autoscales: B has still been provisioning since T0, and the finding is the very same one
    for minutes, state in ((32, SCALING), (33, READY), (34, SCALING), (90, READY)):
        assert fingerprint(sweeps.at(_rollout(state), T0 + minutes * MINUTE)) == fingerprint(stuck)


def test_under_replicated_fires_while_the_short_deployment_moves_among_serving_states() -> None:
    sweeps = Sweeps()
    sweeps.at(endpoint(deployment(ready=2, low=2)), T0)
    states = [READY, SCALING, DEGRADED, SCALING, READY, DEGRADED, READY]
    findings: tuple[Finding, ...] = ()
    for step, state in enumerate(states, start=1):  # short from T0 + 2 minutes, moving every 2 minutes
        findings = sweeps.at(endpoint(deployment(state=state, ready=1, low=2)), T0 + 2 * step * MINUTE)
    assert (FindingKind.UNDER_REPLICATED, "dep_main") in _kinds(findings)
    short = next(f for f in findings if f.kind == FindingKind.UNDER_REPLICATED)
    assert short.actual == "below minReplicas since 2023-11-14T22:15:20Z"  # T0 + 2 minutes, not the last move


def test_a_clock_starts_when_its_condition_changes_and_is_dropped_with_its_deployment() -> None:
    subject = endpoint(deployment("dep_a", READY, ready=1, low=2), deployment("dep_b", PROVISIONING, ready=0))
    first = carry_clocks(candidates(subject, None), (), fallback=T0, now=T0)
    assert first == (DeploymentClock("dep_a", READY, T0, T0), DeploymentClock("dep_b", PROVISIONING, T0, None))
    later = endpoint(deployment("dep_a", SCALING, ready=2, low=2))
    assert carry_clocks(candidates(later, None), first, fallback=T0, now=T0 + 60) == (
        DeploymentClock("dep_a", SCALING, T0 + 60, None),
    )


def test_state_stored_before_the_clocks_falls_back_to_the_endpoints_state_since() -> None:
    # An item written before the clocks existed: no "clocks" attribute at all
    item = {"version": 3, "status": "ok", "findings": "[]", "endpoint_state": "x", "state_since": Decimal(T0 - 3600)}
    state = stored_alert(item).state
    assert state == AlertState(endpoint_state="x", state_since=T0 - 3600) and state.clocks is None
    subject = endpoint(deployment(state=PROVISIONING, ready=0))
    clocks = carry_clocks(candidates(subject, None), state.clocks, fallback=T0 - 3600, now=T0)
    assert clocks == (DeploymentClock("dep_main", PROVISIONING, T0 - 3600, None),)
    findings = evaluate_v2(subject, None, DEFAULTS, state_since=T0 - 3600, now=T0, clocks=clocks)
    assert _kinds(findings) == {(FindingKind.STATE_STUCK, "dep_main")}


def test_clocks_round_trip_and_unreadable_ones_read_as_absent() -> None:
    clocks = (DeploymentClock("dep_a", READY, T0, T0 + 1.5), DeploymentClock("dep_b", PROVISIONING, T0, None))
    assert clocks_from_json(clocks_to_json(clocks)) == clocks
    assert clocks_from_json(clocks_to_json(())) == ()
    assert clocks_from_json(None) is None
    assert clocks_from_json('{"dep_a": 1}') is None
    assert clocks_from_json("[[1, 2]]") is None
