"""The v2 policy: its fields and keys, the findings per deployment, the desired state, and the tracked state."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.policy import Expectations, ExpectedState, FindingKind, PolicyDocument, PolicyError, Severity
from endpoint_relay.core.policy_v2 import evaluate_v2, tracked_state, watched
from endpoint_relay.core.v2_models import KNOWN_DEPLOYMENT_STATES, Deployment
from tests.fakes import T0
from tests.unit.v2_builders import (
    DEGRADED,
    EP2,
    FAILED,
    OTHER_PROJECT,
    PROJECT,
    PROVISIONING,
    READY,
    SCALING,
    STOPPED,
    deployment,
    endpoint,
    full,
)

MINUTE = 60.0
DEFAULTS = Expectations()


def _kinds(findings: tuple[object, ...]) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.severity.value, f.subject) for f in findings]  # type: ignore[attr-defined]


# --- the document -------------------------------------------------------------------------------------------


def test_v2_keys_and_fields_are_read_and_merged_over_the_defaults() -> None:
    # Given defaults with a grace period, one bare ep_ entry and one qualified entry
    policy = PolicyDocument.from_dict(
        {
            "defaults": {"under_replicated_after_minutes": 5},
            "endpoints": {
                EP2: {"expected_state": "running"},
                f"{OTHER_PROJECT}/{EP2}": {"expected_state": "stopped", "min_replicas": 0},
            },
        }
    )
    # Then a bare key speaks for the default project, a qualified key for its own
    assert policy.defaults.under_replicated_after_minutes == 5.0
    assert policy.for_v2(PROJECT, EP2, default_project=PROJECT).expected_state is ExpectedState.RUNNING
    assert policy.for_v2(OTHER_PROJECT, EP2, default_project=PROJECT) == Expectations(
        min_replicas=0, under_replicated_after_minutes=5.0, expected_state=ExpectedState.STOPPED
    )
    # And a bare key is not applied to a project other than the default
    policy = PolicyDocument.from_dict({"endpoints": {EP2: {"expected_state": "running"}}})
    assert policy.for_v2(OTHER_PROJECT, EP2, default_project=PROJECT) == policy.defaults


def test_the_built_in_v2_defaults() -> None:
    assert DEFAULTS.expected_state is None
    assert DEFAULTS.under_replicated_after_minutes == 10.0


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ({"defaults": {"expected_state": "up"}}, ["policy.defaults.expected_state", "'running', 'stopped'"]),
        ({"defaults": {"expected_state": True}}, ["expected_state"]),
        ({"defaults": {"under_replicated_after_minutes": 0}}, ["under_replicated_after_minutes", "above 0"]),
        ({"defaults": {"under_replicated_after_minutes": "5"}}, ["under_replicated_after_minutes"]),
        ({"endpoints": {"ep_": {}}}, ["not an endpoint id", "proj_"]),
        ({"endpoints": {f"{PROJECT}/endpoint-abc": {}}}, ["not an endpoint id"]),
        ({"endpoints": {f"{PROJECT}/{EP2}": {"expected": 1}}}, [f"policy.endpoints.{PROJECT}/{EP2}", "unknown"]),
    ],
)
def test_bad_v2_entries_are_refused_naming_the_field(document: object, names: list[str]) -> None:
    with pytest.raises(PolicyError) as raised:
        PolicyDocument.from_json(json.dumps(document))
    for name in names:
        assert name in str(raised.value)


# --- findings per deployment --------------------------------------------------------------------------------


def test_a_healthy_endpoint_has_no_findings() -> None:
    assert evaluate_v2(endpoint(deployment()), None, DEFAULTS, state_since=T0, now=T0 + 60 * MINUTE) == ()


def test_failed_is_critical_and_quotes_the_status_message() -> None:
    # Given the full deployments list, whose bodies carry status.message
    summary = deployment(state=FAILED, ready=0)
    findings = evaluate_v2(endpoint(summary), [full(summary, "image pull failed")], DEFAULTS, state_since=T0, now=T0)
    assert _kinds(findings) == [(FindingKind.STATE_FAILED, "critical", "dep_main")]
    assert "image pull failed" in findings[0].message and "acme/chat/dep_main" in findings[0].message


def test_degraded_is_a_warning_at_once() -> None:
    findings = evaluate_v2(endpoint(deployment(state=DEGRADED)), None, DEFAULTS, state_since=T0, now=T0)
    assert _kinds(findings) == [(FindingKind.STATE_DEGRADED, "warning", "dep_main")]


@pytest.mark.parametrize("state", [READY, SCALING, DEGRADED])
def test_under_replicated_only_beyond_the_grace_period(state: str) -> None:
    subject = endpoint(deployment(state=state, ready=1, low=2))
    within = evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 10 * MINUTE)
    beyond = evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 11 * MINUTE)
    assert FindingKind.UNDER_REPLICATED not in {f.kind for f in within}
    assert (FindingKind.UNDER_REPLICATED, "warning", "dep_main") in _kinds(beyond)
    # The finding stays the same while time passes (no "changed" notice every sweep)
    later = evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 50 * MINUTE)
    assert (
        next(f for f in later if f.kind == FindingKind.UNDER_REPLICATED).actual
        == next(f for f in beyond if f.kind == FindingKind.UNDER_REPLICATED).actual
    )


def test_an_absent_ready_count_is_not_judged_short() -> None:
    subject = endpoint(deployment(ready=None, low=2))
    assert evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 600 * MINUTE) == ()


def test_stuck_provisioning_after_stuck_after_minutes_and_never_without_a_start_time() -> None:
    subject = endpoint(deployment(state=PROVISIONING, ready=0))
    assert evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 30 * MINUTE) == ()
    assert evaluate_v2(subject, None, DEFAULTS, state_since=None, now=T0 + 300 * MINUTE) == ()
    late = evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 31 * MINUTE)
    assert _kinds(late) == [(FindingKind.STATE_STUCK, "warning", "dep_main")]


def test_replica_bounds_as_in_v1() -> None:
    policy = Expectations(min_replicas=2, max_replicas=4)
    findings = evaluate_v2(endpoint(deployment(low=1, high=8, ready=1)), None, policy, state_since=None, now=T0)
    assert _kinds(findings) == [
        (FindingKind.MIN_REPLICAS_BELOW_EXPECTED, "critical", "dep_main"),
        (FindingKind.MAX_REPLICAS_ABOVE_EXPECTED, "warning", "dep_main"),
    ]
    inverted = evaluate_v2(endpoint(deployment(low=5, high=3)), None, Expectations(), state_since=None, now=T0)
    assert _kinds(inverted) == [(FindingKind.REPLICAS_INVERTED, "critical", "dep_main")]


def test_an_unknown_state_is_schema_drift() -> None:
    findings = evaluate_v2(
        endpoint(deployment(state="DEPLOYMENT_STATE_HIBERNATING")), None, DEFAULTS, state_since=T0, now=T0
    )
    assert _kinds(findings) == [(FindingKind.STATE_UNKNOWN, "warning", "dep_main")]
    assert findings[0].actual == "DEPLOYMENT_STATE_HIBERNATING"


def test_stopped_deployments_are_quiet() -> None:
    subject = endpoint(deployment(state=STOPPED, ready=0, low=0, high=0), split={})
    assert evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0 + 600 * MINUTE) == ()


def test_an_old_failed_rollout_nobody_routes_to_is_not_watched() -> None:
    # Given a live READY deployment and an old FAILED one with no traffic
    live = deployment("dep_live", created_at="2023-11-10T00:00:00Z")
    old = deployment("dep_old", state=FAILED, created_at="2023-11-01T00:00:00Z")
    subject = endpoint(live, old, split={"dep_live": 100})
    # Then only the live one is watched
    assert [d.id for d in watched(subject, subject.deployments, T0)] == ["dep_live"]
    assert evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0) == ()
    # But a recent failed rollout is
    recent = endpoint(
        live, deployment("dep_new", state=FAILED, created_at="2023-11-14T20:00:00Z"), split={"dep_live": 100}
    )
    assert _kinds(evaluate_v2(recent, None, DEFAULTS, state_since=T0, now=T0)) == [
        (FindingKind.STATE_FAILED, "critical", "dep_new")
    ]


# --- desired state ------------------------------------------------------------------------------------------


def test_running_expected_but_nothing_ready_carries_traffic() -> None:
    running = Expectations(expected_state=ExpectedState.RUNNING)
    # A READY deployment with weight 0 carries nothing; the live one is stopped
    subject = endpoint(
        deployment("dep_a", state=STOPPED, ready=0, low=0, high=0),
        deployment("dep_b"),
        split={"dep_a": 100, "dep_b": 0},
    )
    assert evaluate_v2(subject, None, running, state_since=T0, now=T0 + 5 * MINUTE) == ()  # grace
    findings = evaluate_v2(subject, None, running, state_since=T0, now=T0 + 11 * MINUTE)
    assert _kinds(findings) == [(FindingKind.NOT_RUNNING, "critical", None)]
    # And a live READY deployment satisfies it
    assert evaluate_v2(endpoint(deployment()), None, running, state_since=T0, now=T0 + 99 * MINUTE) == ()


def test_running_is_not_judged_when_the_live_deployment_is_older_than_the_ten_embedded() -> None:
    # Given a live deployment that ten newer (stopped) experiments pushed out of the embedded summaries
    experiments = [
        deployment(f"dep_exp{day}", STOPPED, ready=0, low=0, high=0, created_at=f"2023-11-{day:02d}T00:00:00Z")
        for day in range(12, 2, -1)
    ]
    subject = endpoint(*experiments, split={"dep_prod": 100})
    assert len(subject.deployments) == 10 and "dep_prod" not in {d.id for d in subject.deployments}
    # Then nothing says it does not serve: no "not running" however long it lasts
    running = Expectations(expected_state=ExpectedState.RUNNING)
    assert evaluate_v2(subject, None, running, state_since=T0, now=T0 + 600 * MINUTE) == ()
    # But once the full list shows it stopped, it is judged
    prod = Deployment.from_dict(deployment("dep_prod", STOPPED, ready=0, low=0, high=0))
    every = [*subject.deployments, prod]
    findings = evaluate_v2(subject, every, running, state_since=T0, now=T0 + 600 * MINUTE)
    assert _kinds(findings) == [(FindingKind.NOT_RUNNING, "critical", None)]
    # And with fewer than ten embedded, the list is whole: a split naming no listed deployment routes nowhere
    dangling = endpoint(*experiments[:9], split={"dep_prod": 100})
    findings = evaluate_v2(dangling, None, running, state_since=T0, now=T0 + 600 * MINUTE)
    assert _kinds(findings) == [(FindingKind.NOT_RUNNING, "critical", None)]


def test_stopped_expected_but_replicas_ready_is_the_forgotten_endpoint() -> None:
    stopped = Expectations(expected_state=ExpectedState.STOPPED)
    findings = evaluate_v2(endpoint(deployment(ready=3, low=3)), None, stopped, state_since=T0, now=T0)
    assert _kinds(findings) == [(FindingKind.NOT_STOPPED, "warning", None)]
    assert "3 replica(s) are ready" in findings[0].message
    idle = endpoint(deployment(state=STOPPED, ready=0, low=0, high=0))
    assert evaluate_v2(idle, None, stopped, state_since=T0, now=T0) == ()


def test_findings_are_ordered_most_severe_first() -> None:
    subject = endpoint(
        deployment("dep_a", state=DEGRADED), deployment("dep_b", state=FAILED), split={"dep_a": 50, "dep_b": 50}
    )
    findings = evaluate_v2(subject, None, DEFAULTS, state_since=T0, now=T0)
    assert [f.severity for f in findings] == [Severity.CRITICAL, Severity.WARNING]


# --- the tracked state ----------------------------------------------------------------------------------------

STATES = st.sampled_from([*sorted(KNOWN_DEPLOYMENT_STATES), "DEPLOYMENT_STATE_NEW"])


@settings(derandomize=True, database=None, max_examples=150)
@given(states=st.lists(STATES, min_size=1, max_size=10), changed=st.integers(0, 9), other=STATES)
def test_a_transition_of_any_deployment_changes_the_tracked_state(states: list[str], changed: int, other: str) -> None:
    docs = [deployment(f"dep_{index}", state) for index, state in enumerate(states)]
    before = tracked_state(endpoint(*docs))
    # Order does not matter
    assert tracked_state(endpoint(*reversed(docs))) == before
    index = changed % len(docs)
    docs[index] = deployment(f"dep_{index}", other)
    assert (tracked_state(endpoint(*docs)) == before) == (states[index] == other)


def test_becoming_short_of_replicas_is_a_transition_but_counts_moving_are_not() -> None:
    assert tracked_state(endpoint(deployment(ready=2, low=2))) != tracked_state(endpoint(deployment(ready=1, low=2)))
    assert tracked_state(endpoint(deployment(ready=1, low=3))) == tracked_state(endpoint(deployment(ready=2, low=3)))
