"""Endpoint health policy: what the team expects of an endpoint, and what it is found to violate.

Pure: no AWS and no HTTP. The policy document is JSON with defaults and
per-endpoint overrides; it is validated once, when loaded, and every error names
the field and what it accepts.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from endpoint_relay.core.endpoint_ref import EndpointRefError, parse_endpoint_ref, v2_key
from endpoint_relay.core.models import KNOWN_STATES, Endpoint, EndpointState

_FAILED_STATES = frozenset({EndpointState.ERROR.value, EndpointState.FAILED.value})
_TRANSITIONAL_STATES = frozenset(
    {EndpointState.PENDING.value, EndpointState.STARTING.value, EndpointState.STOPPING.value}
)
_MAX_SHOWN_STATE = 64
"""An unknown state comes from upstream; only this much of it is repeated in messages."""


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


SEVERITY_ORDER = (Severity.CRITICAL, Severity.WARNING)


class FindingKind(StrEnum):
    STATE_FAILED = "state_failed"
    STATE_UNKNOWN = "state_unknown"
    STATE_STUCK = "state_stuck"
    STATE_DEGRADED = "state_degraded"
    UNDER_REPLICATED = "under_replicated"
    NOT_RUNNING = "not_running"
    """``expected_state: running``, and no live deployment serves."""
    NOT_STOPPED = "not_stopped"
    """``expected_state: stopped``, and replicas are up (and billing)."""
    AUTOSCALING_MISSING = "autoscaling_missing"
    REPLICAS_INVERTED = "replicas_inverted"
    MIN_REPLICAS_BELOW_EXPECTED = "min_replicas_below_expected"
    MAX_REPLICAS_ABOVE_EXPECTED = "max_replicas_above_expected"
    IDLE_SPEND = "idle_spend"
    """v2: a deployment held READY replicas and served no request for ``idle_after_hours`` (sweeps only)."""


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: Severity
    message: str
    """Human text that shows expected against actual."""
    expected: str | None = None
    actual: str | None = None
    subject: str | None = None
    """The v2 deployment (``dep_…``) the finding is about; ``None`` for the endpoint as a whole."""


class ExpectedState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


class PolicyError(ValueError):
    """The policy document is invalid; the message names the field and what it accepts."""


@dataclass(frozen=True, slots=True)
class Expectations:
    """What one endpoint is expected to look like. ``None`` switches a check off."""

    min_replicas: int | None = 1
    """The lowest acceptable ``autoscaling.min_replicas`` (1: scaled to zero is critical)."""
    max_replicas: int | None = None
    """The highest acceptable ``autoscaling.max_replicas`` (a cost guard)."""
    stuck_after_minutes: float = 30.0
    """How long PENDING, STARTING or STOPPING (v2: PROVISIONING) may last before it is a warning."""
    under_replicated_after_minutes: float = 10.0
    """v2: how long a serving deployment may have fewer ready replicas than its minimum (a rollout, a restart)."""
    expected_state: ExpectedState | None = None
    """v2: whether the endpoint should serve (``running``) or cost nothing (``stopped``); ``None`` checks neither."""
    idle_after_hours: float | None = None
    """v2: hours a READY deployment may serve no request before it is idle spend; ``None`` (the default) is off."""


_FIELDS = (
    "min_replicas",
    "max_replicas",
    "stuck_after_minutes",
    "under_replicated_after_minutes",
    "expected_state",
    "idle_after_hours",
)
_TOP_LEVEL = ("defaults", "endpoints")
_MAX_STUCK_MINUTES = 7 * 24 * 60
MAX_IDLE_HOURS = 30 * 24
"""Analytics retention is not documented; a month-long window is already more than an alert needs."""


@dataclass(frozen=True)
class PolicyDocument:
    defaults: Expectations = field(default_factory=Expectations)
    endpoints: Mapping[str, Expectations] = field(default_factory=dict)
    """Per-endpoint expectations, already merged over the defaults, by v1 id, ``ep_…`` or ``proj_…/ep_…``."""

    def for_endpoint(self, endpoint_id: str) -> Expectations:
        return self.endpoints.get(endpoint_id, self.defaults)

    def for_v2(self, project_id: str, endpoint_id: str, *, default_project: str | None) -> Expectations:
        """A ``proj_…/ep_…`` entry first; a bare ``ep_…`` entry speaks for the default project only."""
        qualified = self.endpoints.get(v2_key(project_id, endpoint_id))
        if qualified is not None:
            return qualified
        if default_project is None or project_id == default_project:
            return self.endpoints.get(endpoint_id, self.defaults)
        return self.defaults

    @classmethod
    def default(cls) -> PolicyDocument:
        return cls()

    @classmethod
    def from_json(cls, text: str) -> PolicyDocument:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise PolicyError(f"policy is not valid JSON ({exc.args[0] if exc.args else exc})") from None
        return cls.from_dict(document)

    @classmethod
    def from_dict(cls, document: Any) -> PolicyDocument:
        """Validate a policy document, for example::

        {"defaults": {"min_replicas": 1, "max_replicas": 4, "stuck_after_minutes": 30},
         "endpoints": {"endpoint-abc": {"min_replicas": 2, "max_replicas": null},
                       "proj_x/ep_y": {"expected_state": "stopped", "idle_after_hours": 24}}}
        """
        if not isinstance(document, dict):
            raise PolicyError("policy must be a JSON object with the keys defaults and endpoints")
        _reject_unknown(document, _TOP_LEVEL, "policy")
        defaults = _expectations(document.get("defaults", {}), Expectations(), "policy.defaults")
        overrides = document.get("endpoints", {})
        if not isinstance(overrides, dict):
            raise PolicyError("policy.endpoints must be an object mapping endpoint ids to expectations")
        endpoints: dict[str, Expectations] = {}
        for endpoint_id, fields in overrides.items():
            try:
                key = parse_endpoint_ref(endpoint_id, default_project=None).key
            except EndpointRefError as exc:
                raise PolicyError(f"policy.endpoints has a key that is not an endpoint id: {exc}") from None
            endpoints[key] = _expectations(fields, defaults, f"policy.endpoints.{key}")
        return cls(defaults=defaults, endpoints=endpoints)


def _reject_unknown(document: dict[str, Any], accepted: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(key) for key in document if key not in accepted)
    if unknown:
        raise PolicyError(f"{where} has unknown key(s) {', '.join(unknown)}; accepted keys are {', '.join(accepted)}")


def _expectations(fields: Any, base: Expectations, where: str) -> Expectations:
    if not isinstance(fields, dict):
        raise PolicyError(f"{where} must be an object with the keys {', '.join(_FIELDS)}")
    _reject_unknown(fields, _FIELDS, where)
    merged = base
    if "min_replicas" in fields:
        merged = replace(merged, min_replicas=_replica_bound(fields["min_replicas"], f"{where}.min_replicas"))
    if "max_replicas" in fields:
        merged = replace(merged, max_replicas=_replica_bound(fields["max_replicas"], f"{where}.max_replicas"))
    if "stuck_after_minutes" in fields:
        merged = replace(merged, stuck_after_minutes=_minutes(fields["stuck_after_minutes"], where))
    if "under_replicated_after_minutes" in fields:
        grace = _minutes(fields["under_replicated_after_minutes"], where, "under_replicated_after_minutes")
        merged = replace(merged, under_replicated_after_minutes=grace)
    if "expected_state" in fields:
        merged = replace(merged, expected_state=_expected_state(fields["expected_state"], where))
    if "idle_after_hours" in fields:
        merged = replace(merged, idle_after_hours=_idle_hours(fields["idle_after_hours"], where))
    if (
        merged.min_replicas is not None
        and merged.max_replicas is not None
        and merged.min_replicas > merged.max_replicas
    ):
        raise PolicyError(
            f"{where}: min_replicas ({merged.min_replicas}) must not be greater than "
            f"max_replicas ({merged.max_replicas})"
        )
    return merged


def _replica_bound(value: Any, where: str) -> int | None:
    # bool is an int subclass; true/false are not replica counts.
    if value is None or (type(value) is int and 0 <= value <= 10_000):
        return value
    raise PolicyError(f"{where} must be a whole number from 0 to 10000, or null to skip the check")


def _minutes(value: Any, where: str, name: str = "stuck_after_minutes") -> float:
    if type(value) in (int, float) and math.isfinite(value) and 0 < value <= _MAX_STUCK_MINUTES:
        return float(value)
    raise PolicyError(f"{where}.{name} must be a number of minutes above 0 and at most 10080")


def _idle_hours(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if type(value) in (int, float) and math.isfinite(value) and 0 < value <= MAX_IDLE_HOURS:
        return float(value)
    raise PolicyError(
        f"{where}.idle_after_hours must be a number of hours above 0 and at most {MAX_IDLE_HOURS}, "
        "or null to skip the check"
    )


def _expected_state(value: Any, where: str) -> ExpectedState | None:
    if value is None:
        return None
    if isinstance(value, str) and value in _EXPECTED_STATES:
        return ExpectedState(value)
    raise PolicyError(f"{where}.expected_state must be 'running', 'stopped', or null to skip the check")


_EXPECTED_STATES = frozenset(ExpectedState)


# --- evaluation ---------------------------------------------------------------------------------------------------


def evaluate(
    endpoint: Endpoint,
    expected: Expectations,
    *,
    state_since: float | None = None,
    now: float | None = None,
) -> tuple[Finding, ...]:
    """Findings for one endpoint, most severe first.

    ``state_since`` is when the endpoint was first seen in its current state (from
    the alert state store); without it, a transitional state cannot be "stuck".
    """
    findings = [*_state_findings(endpoint, expected, state_since, now), *_replica_findings(endpoint, expected)]
    findings.sort(key=lambda finding: (SEVERITY_ORDER.index(finding.severity), finding.kind))
    return tuple(findings)


def _state_findings(
    endpoint: Endpoint, expected: Expectations, state_since: float | None, now: float | None
) -> list[Finding]:
    state = endpoint.state
    if state in _FAILED_STATES:
        return [
            new_finding(
                FindingKind.STATE_FAILED,
                Severity.CRITICAL,
                "The endpoint reports a failure state",
                expected="a state other than ERROR or FAILED",
                actual=state,
            )
        ]
    if state not in KNOWN_STATES:
        shown = state[:_MAX_SHOWN_STATE]
        return [
            new_finding(
                FindingKind.STATE_UNKNOWN,
                Severity.WARNING,
                "The endpoint reports a state this relay does not know (has the API changed?)",
                expected=f"one of {', '.join(sorted(KNOWN_STATES))}",
                actual=shown,
            )
        ]
    if state in _TRANSITIONAL_STATES and state_since is not None:
        current = time.time() if now is None else now
        minutes = (current - state_since) / 60.0
        if minutes > expected.stuck_after_minutes:
            return [
                new_finding(
                    FindingKind.STATE_STUCK,
                    Severity.WARNING,
                    f"The endpoint has been {state} for {duration_text(minutes)}",
                    expected=f"at most {duration_text(expected.stuck_after_minutes)} in {state}",
                    # The timestamp, not the duration, keeps the finding stable between sweeps.
                    actual=f"{state} since {utc_text(state_since)}",
                )
            ]
    return []


def _replica_findings(endpoint: Endpoint, expected: Expectations) -> list[Finding]:
    scaling = endpoint.autoscaling
    if scaling is None:
        return [
            new_finding(
                FindingKind.AUTOSCALING_MISSING,
                Severity.WARNING,
                "The endpoint's autoscaling settings are missing or unreadable",
                expected="autoscaling with whole-number min_replicas and max_replicas",
                actual="missing or unreadable",
            )
        ]
    findings: list[Finding] = []
    low, high = scaling.min_replicas, scaling.max_replicas
    if low > high:
        findings.append(
            new_finding(
                FindingKind.REPLICAS_INVERTED,
                Severity.CRITICAL,
                "min_replicas is greater than max_replicas",
                expected="min_replicas <= max_replicas",
                actual=f"min_replicas={low}, max_replicas={high}",
            )
        )
    if expected.min_replicas is not None and low < expected.min_replicas:
        findings.append(
            new_finding(
                FindingKind.MIN_REPLICAS_BELOW_EXPECTED,
                Severity.CRITICAL,
                "min_replicas is below the expected minimum" + (" (scaled to zero)" if low == 0 else ""),
                expected=f"min_replicas >= {expected.min_replicas}",
                actual=f"min_replicas={low}",
            )
        )
    if expected.max_replicas is not None and high > expected.max_replicas:
        findings.append(
            new_finding(
                FindingKind.MAX_REPLICAS_ABOVE_EXPECTED,
                Severity.WARNING,
                "max_replicas is above the expected maximum (cost)",
                expected=f"max_replicas <= {expected.max_replicas}",
                actual=f"max_replicas={high}",
            )
        )
    return findings


def new_finding(
    kind: FindingKind, severity: Severity, summary: str, *, expected: str, actual: str, subject: str | None = None
) -> Finding:
    return Finding(
        kind=kind.value,
        severity=severity,
        message=f"{summary}: expected {expected}, actual {actual}",
        expected=expected,
        actual=actual,
        subject=subject,
    )


def highest_severity(findings: tuple[Finding, ...]) -> Severity | None:
    for severity in SEVERITY_ORDER:
        if any(finding.severity == severity for finding in findings):
            return severity
    return None


def duration_text(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def utc_text(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
