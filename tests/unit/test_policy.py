"""The health policy: findings for an endpoint, and the policy document's validation."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.together_sim import make_endpoint
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import (
    Expectations,
    Finding,
    FindingKind,
    PolicyDocument,
    PolicyError,
    Severity,
    evaluate,
)

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
NOW = 1_800_000_000.0


def _endpoint(**fields: Any) -> Endpoint:
    return Endpoint.from_dict(make_endpoint(ENDPOINT_ID, **fields))


def _kinds(findings: tuple[Finding, ...]) -> list[str]:
    return [finding.kind for finding in findings]


def test_a_healthy_endpoint_has_no_findings() -> None:
    assert evaluate(_endpoint(), Expectations(min_replicas=1, max_replicas=4)) == ()


@pytest.mark.parametrize("state", ["ERROR", "FAILED"])
def test_failure_states_are_critical(state: str) -> None:
    (finding,) = evaluate(_endpoint(state=state), Expectations())
    assert (finding.kind, finding.severity) == (FindingKind.STATE_FAILED, Severity.CRITICAL)
    assert finding.actual == state
    assert f"actual {state}" in finding.message


@pytest.mark.parametrize("state", ["STARTED", "STOPPED", "PENDING", "STARTING", "STOPPING"])
def test_known_states_without_history_are_fine(state: str) -> None:
    assert evaluate(_endpoint(state=state), Expectations()) == ()


def test_an_unknown_state_is_a_schema_drift_warning() -> None:
    (finding,) = evaluate(_endpoint(state="DEGRADED"), Expectations())
    assert (finding.kind, finding.severity) == (FindingKind.STATE_UNKNOWN, Severity.WARNING)
    assert "actual DEGRADED" in finding.message
    assert "expected one of" in finding.message


def test_an_absurdly_long_unknown_state_is_cut_in_the_message() -> None:
    (finding,) = evaluate(_endpoint(state="X" * 5000), Expectations())
    assert len(finding.message) < 400


# --- replica bounds (the "Must show" cases) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected", "kind", "severity", "expected_text", "actual_text"),
    [
        (
            {"min_replicas": 0, "max_replicas": 2},
            Expectations(min_replicas=1),
            FindingKind.MIN_REPLICAS_BELOW_EXPECTED,
            Severity.CRITICAL,
            "min_replicas >= 1",
            "min_replicas=0",
        ),
        (
            {"min_replicas": 1, "max_replicas": 16},
            Expectations(min_replicas=1, max_replicas=4),
            FindingKind.MAX_REPLICAS_ABOVE_EXPECTED,
            Severity.WARNING,
            "max_replicas <= 4",
            "max_replicas=16",
        ),
        (
            {"min_replicas": 3, "max_replicas": 1},
            Expectations(min_replicas=None),
            FindingKind.REPLICAS_INVERTED,
            Severity.CRITICAL,
            "min_replicas <= max_replicas",
            "min_replicas=3, max_replicas=1",
        ),
        (
            {"autoscaling": None},
            Expectations(),
            FindingKind.AUTOSCALING_MISSING,
            Severity.WARNING,
            "autoscaling with whole-number min_replicas and max_replicas",
            "missing or unreadable",
        ),
        (
            {"autoscaling": {"min_replicas": "one", "max_replicas": 2}},
            Expectations(),
            FindingKind.AUTOSCALING_MISSING,
            Severity.WARNING,
            "autoscaling",
            "missing or unreadable",
        ),
    ],
    ids=["below-minimum", "above-maximum", "inverted", "missing", "unreadable"],
)
def test_replica_bounds_produce_the_right_finding_with_expected_and_actual(
    fields: dict[str, Any],
    expected: Expectations,
    kind: FindingKind,
    severity: Severity,
    expected_text: str,
    actual_text: str,
) -> None:
    # Given an endpoint whose autoscaling is off the policy
    endpoint = _endpoint(**fields)
    # When it is evaluated
    findings = evaluate(endpoint, expected)
    # Then exactly that finding is reported, and its message shows expected against actual
    assert _kinds(findings) == [kind]
    (finding,) = findings
    assert finding.severity is severity
    assert f"expected {expected_text}" in finding.message
    assert f"actual {actual_text}" in finding.message
    assert finding.expected is not None and expected_text in finding.expected
    assert finding.actual == actual_text


def test_inverted_and_below_minimum_are_both_reported_critical_first() -> None:
    findings = evaluate(_endpoint(min_replicas=0, max_replicas=-1, state="STARTING"), Expectations(max_replicas=0))
    assert _kinds(findings) == [FindingKind.MIN_REPLICAS_BELOW_EXPECTED, FindingKind.REPLICAS_INVERTED]


def test_findings_are_sorted_critical_first() -> None:
    findings = evaluate(_endpoint(state="ERROR", min_replicas=1, max_replicas=9), Expectations(max_replicas=4))
    assert [finding.severity for finding in findings] == [Severity.CRITICAL, Severity.WARNING]


def test_none_switches_a_bound_off() -> None:
    assert evaluate(_endpoint(min_replicas=0, max_replicas=100), Expectations(min_replicas=None)) == ()


# --- stuck in a transition -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["PENDING", "STARTING", "STOPPING"])
def test_a_transition_longer_than_allowed_is_a_warning(state: str) -> None:
    since = NOW - 31 * 60
    (finding,) = evaluate(_endpoint(state=state), Expectations(stuck_after_minutes=30), state_since=since, now=NOW)
    assert (finding.kind, finding.severity) == (FindingKind.STATE_STUCK, Severity.WARNING)
    assert "31 min" in finding.message
    assert f"expected at most 30 min in {state}" in finding.message
    # The timestamp, not the growing duration, identifies the finding, so it stays the same sweep after sweep.
    later = evaluate(_endpoint(state=state), Expectations(stuck_after_minutes=30), state_since=since, now=NOW + 600)
    assert later[0].actual == finding.actual


def test_a_short_transition_is_fine() -> None:
    assert evaluate(_endpoint(state="STARTING"), Expectations(), state_since=NOW - 29 * 60, now=NOW) == ()


def test_a_long_steady_state_is_not_stuck() -> None:
    assert evaluate(_endpoint(state="STARTED"), Expectations(), state_since=NOW - 86_400, now=NOW) == ()


# --- the policy document -----------------------------------------------------------------------------------------


def test_overrides_are_merged_over_the_defaults() -> None:
    policy = PolicyDocument.from_dict(
        {
            "defaults": {"min_replicas": 1, "max_replicas": 4, "stuck_after_minutes": 20},
            "endpoints": {ENDPOINT_ID: {"max_replicas": 8, "min_replicas": None}},
        }
    )
    assert policy.defaults == Expectations(min_replicas=1, max_replicas=4, stuck_after_minutes=20)
    assert policy.for_endpoint(ENDPOINT_ID) == Expectations(min_replicas=None, max_replicas=8, stuck_after_minutes=20)
    assert policy.for_endpoint("endpoint-other") == policy.defaults


def test_an_empty_document_means_the_built_in_defaults() -> None:
    assert PolicyDocument.from_json("{}") == PolicyDocument.default()
    assert PolicyDocument.default().defaults == Expectations(min_replicas=1, max_replicas=None, stuck_after_minutes=30)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("not json", ["not valid JSON"]),
        ("[]", ["policy must be a JSON object"]),
        ('{"default": {}}', ["unknown key(s) default", "defaults, endpoints"]),
        ('{"defaults": []}', ["policy.defaults must be an object"]),
        ('{"defaults": {"min": 1}}', ["policy.defaults has unknown key(s) min", "min_replicas"]),
        ('{"defaults": {"min_replicas": -1}}', ["policy.defaults.min_replicas", "whole number from 0 to 10000"]),
        ('{"defaults": {"min_replicas": 1.5}}', ["policy.defaults.min_replicas"]),
        ('{"defaults": {"min_replicas": true}}', ["policy.defaults.min_replicas"]),
        ('{"defaults": {"max_replicas": "4"}}', ["policy.defaults.max_replicas"]),
        ('{"defaults": {"stuck_after_minutes": 0}}', ["stuck_after_minutes", "above 0"]),
        ('{"defaults": {"stuck_after_minutes": "30"}}', ["stuck_after_minutes"]),
        ('{"defaults": {"min_replicas": 3, "max_replicas": 2}}', ["policy.defaults", "greater than max_replicas"]),
        ('{"endpoints": []}', ["policy.endpoints must be an object"]),
        ('{"endpoints": {"Endpoint-X": {}}}', ["not an endpoint id", "'endpoint-'"]),
        ('{"endpoints": {"endpoint-abc": {"max_replicas": 0}}}', ["policy.endpoints.endpoint-abc", "greater than"]),
        ('{"endpoints": {"endpoint-abc": 4}}', ["policy.endpoints.endpoint-abc must be an object"]),
    ],
)
def test_invalid_documents_are_refused_naming_the_field(text: str, names: list[str]) -> None:
    with pytest.raises(PolicyError) as raised:
        PolicyDocument.from_json(text)
    for name in names:
        assert name in str(raised.value)
