"""Idle spend, pure parts: string or absent counts, the young-deployment exclusion, unknown prices, the policy."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from endpoint_relay.core.analytics import RequestCounts, count, request_counts
from endpoint_relay.core.errors import InvalidQueryError, RouteNotFoundError
from endpoint_relay.core.idle import IdleWindow, carried, idle_cents, idle_findings
from endpoint_relay.core.policy import Finding, FindingKind, PolicyDocument, PolicyError, Severity
from endpoint_relay.core.prices import FixedPrices, PriceBook
from endpoint_relay.core.v2_models import Deployment, V2ParseError
from endpoint_relay.core.v2_request import V2Resource, analytics_request, parse_v2_request
from tests.unit.v2_builders import EP2, FAILED, READY, deployment

HOUR = 3600.0
END = 1_700_000_000.0  # 2023-11-14T22:13:20Z
HW = "2x_nvidia_h100_80gb_sxm"
PRICES = FixedPrices(v2=PriceBook({HW: 3192}))


def _deployment(deployment_id: str = "dep_main", **fields: Any) -> Deployment:
    fields.setdefault("created_at", "2023-11-01T00:00:00Z")
    return Deployment.from_dict(deployment(deployment_id, **fields))


def _analytics(*entries: dict[str, Any], total: str | None = None, breakdown: list[Any] | None = None) -> Any:
    metrics: dict[str, Any] = {"endpointId": EP2}
    if total is not None:
        metrics["requestMetrics"] = {"totalRequests": total}
    if breakdown is not None:
        metrics["deploymentMetrics"] = breakdown
    return {"endpointId": EP2, "metrics": metrics, "deploymentAnalytics": list(entries)}


def _entry(deployment_id: str, requests: Any = None, *, form: str = "value") -> dict[str, Any]:
    """One deploymentAnalytics entry; ``form`` says how its count is written (or left out)."""
    metrics: dict[str, Any] = {"deploymentId": deployment_id}
    if form == "value":
        metrics["requestMetrics"] = {"totalRequests": requests}
    elif form == "omit_field":
        metrics["requestMetrics"] = {}
    entry: dict[str, Any] = {"deploymentId": deployment_id}
    if form != "omit_metrics":
        entry["metrics"] = metrics
    return entry


# --- counts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("44190", 44190), ("0", 0), (None, 0), (7, 7), ("", None), ("-1", None), ("1e3", None), (1.5, None)],
)
def test_an_int64_count_is_read_from_a_string_absent_is_zero_and_anything_else_unknown(
    value: object, expected: int | None
) -> None:
    assert count(value) == expected


def test_a_count_of_more_than_19_digits_or_a_boolean_is_unknown() -> None:
    assert count("9" * 20) is None
    assert count(True) is None


@pytest.mark.parametrize("form", ["zero", "omit_field", "omit_object", "omit_metrics", "omit_entry"])
def test_every_absent_form_of_a_zero_count_reads_as_zero(form: str) -> None:
    busy = _entry("dep_busy", "12")
    quiet = {
        "zero": [_entry("dep_quiet", "0")],
        "omit_field": [_entry("dep_quiet", form="omit_field")],
        "omit_object": [_entry("dep_quiet", form="omit_object")],
        "omit_metrics": [_entry("dep_quiet", form="omit_metrics")],
        "omit_entry": [],
    }[form]
    counts = request_counts(_analytics(busy, *quiet, total="12"))
    assert counts.of("dep_quiet") == 0
    assert counts.of("dep_busy") == 12


def test_the_deployment_metrics_breakdown_counts_too_and_any_request_wins() -> None:
    document = _analytics(
        _entry("dep_a", form="omit_field"),
        breakdown=[{"deploymentId": "dep_a", "requestMetrics": {"totalRequests": "3"}}],
    )
    counts = request_counts(document)
    assert counts.of("dep_a") == 3


def test_an_unreadable_count_is_unknown_unless_another_source_saw_requests() -> None:
    unreadable = request_counts(_analytics(_entry("dep_a", "lots")))
    assert unreadable.of("dep_a") is None
    seen = request_counts(
        _analytics(
            _entry("dep_a", "lots"), breakdown=[{"deploymentId": "dep_a", "requestMetrics": {"totalRequests": "2"}}]
        )
    )
    assert seen.of("dep_a") == 2
    broken_object = request_counts(_analytics({"deploymentId": "dep_a", "metrics": {"requestMetrics": "x"}}))
    assert broken_object.of("dep_a") is None


def test_without_any_breakdown_only_a_zero_endpoint_total_speaks_for_the_deployments() -> None:
    assert request_counts(_analytics()).of("dep_a") == 0
    assert request_counts(_analytics(total="0")).of("dep_a") == 0
    # One request somewhere on the endpoint, and no breakdown to say where: nobody is proven idle
    assert request_counts(_analytics(total="1")).of("dep_a") is None
    assert request_counts(_analytics(total="garbled")).of("dep_a") is None


def test_the_spec_example_reads_as_its_counts() -> None:
    document = {
        "endpointId": EP2,
        "metrics": {"requestMetrics": {"totalRequests": "44190"}},
        "deploymentAnalytics": [
            {"deploymentId": "dep_5Kc1", "metrics": {"requestMetrics": {"totalRequests": "41872"}}},
            {"deploymentId": "dep_9Gt4", "metrics": {"requestMetrics": {"totalRequests": "2318"}}},
        ],
    }
    counts = request_counts(json.loads(json.dumps(document)))
    assert (counts.endpoint_id, counts.of("dep_5Kc1"), counts.of("dep_9Gt4"), counts.of("dep_new")) == (
        EP2,
        41872,
        2318,
        0,
    )


@pytest.mark.parametrize("document", [[], "x", None, 3])
def test_an_answer_that_is_not_an_object_is_refused(document: object) -> None:
    with pytest.raises(V2ParseError):
        request_counts(document)


# --- the decision ---------------------------------------------------------------------------------------------------


def _idle(deployments: list[Deployment], counts: RequestCounts, hours: float = 6.0) -> tuple[Finding, ...]:
    return idle_findings(deployments, counts, IdleWindow(hours, END), PRICES.cents_per_hour)


def test_a_ready_deployment_with_zero_requests_fires_with_hours_and_dollars() -> None:
    [finding] = _idle([_deployment(ready=3, low=3)], RequestCounts(has_breakdown=True))
    assert (finding.kind, finding.severity, finding.subject) == (FindingKind.IDLE_SPEND, Severity.WARNING, "dep_main")
    # 3 replicas x 3,192 ¢/h x 6 h = 57,456 ¢
    assert "served no requests in 6 h while holding 3 READY replica(s)" in finding.message
    assert "$574.56 spent idle (3 x $31.92/h x 6 h)" in finding.message
    assert (finding.expected, finding.actual) == ("at least one request in 6 h (idle_after_hours)", "no requests")


def test_a_deployment_that_served_requests_or_whose_count_is_unknown_does_not_fire() -> None:
    served = RequestCounts(per_deployment={"dep_main": 1}, has_breakdown=True)
    unknown = RequestCounts(per_deployment={"dep_main": None}, has_breakdown=True)
    assert _idle([_deployment()], served) == ()
    assert _idle([_deployment()], unknown) == ()


def test_a_deployment_younger_than_the_window_is_skipped() -> None:
    start = "2023-11-14T16:13:20Z"  # END - 6 h
    young = _deployment("dep_young", created_at="2023-11-14T16:13:21Z")
    exactly = _deployment("dep_exact", created_at=start)
    unreadable = _deployment("dep_when", created_at="yesterday")
    undated = _deployment("dep_undated", created_at=None)
    findings = _idle([young, exactly, unreadable, undated], RequestCounts(has_breakdown=True))
    assert [finding.subject for finding in findings] == ["dep_exact"]


def test_only_ready_deployments_with_ready_replicas_are_judged() -> None:
    deployments = [
        _deployment("dep_failed", state=FAILED, ready=2),
        _deployment("dep_none", state=READY, ready=0),
        _deployment("dep_unknown", state=READY, ready=None),
    ]
    assert _idle(deployments, RequestCounts(has_breakdown=True)) == ()


def test_an_unknown_price_says_so_and_still_fires() -> None:
    [finding] = _idle([_deployment(hardware="mystery-gpu")], RequestCounts(has_breakdown=True))
    assert "price unknown (mystery-gpu)" in finding.message and "$" not in finding.message


def test_idle_dollars_are_integer_cents_rounded_half_up_over_fractional_hours() -> None:
    assert idle_cents(1, 3192, IdleWindow(1.5, END)) == 4788
    assert idle_cents(2, 1, IdleWindow(0.25, END)) == 1  # 0.5 ¢ rounds up
    assert idle_cents(0, None, IdleWindow(24, END)) == 0
    assert idle_cents(2, None, IdleWindow(24, END)) is None


def test_the_finding_is_stable_between_sweeps_so_the_alert_reminds_rather_than_changes() -> None:
    first = _idle([_deployment()], RequestCounts(has_breakdown=True))
    later = idle_findings(
        [_deployment()], RequestCounts(has_breakdown=True), IdleWindow(6.0, END + HOUR), PRICES.cents_per_hour
    )
    assert [(f.expected, f.actual, f.subject) for f in first] == [(f.expected, f.actual, f.subject) for f in later]


def test_carried_findings_last_while_the_deployment_holds_ready_replicas_and_the_check_is_on() -> None:
    [finding] = _idle([_deployment()], RequestCounts(has_breakdown=True))
    other = Finding("state_failed", Severity.CRITICAL, "x", subject="dep_main")
    assert carried((finding, other), [_deployment()], 6.0) == (finding,)
    assert carried((finding,), [_deployment(state=FAILED, ready=0)], 6.0) == ()
    assert carried((finding,), [_deployment("dep_other")], 6.0) == ()
    assert carried((finding,), [_deployment()], None) == ()


# --- the policy field -----------------------------------------------------------------------------------------------


def test_idle_after_hours_is_off_by_default_and_set_in_defaults_or_per_endpoint() -> None:
    assert PolicyDocument.default().defaults.idle_after_hours is None
    policy = PolicyDocument.from_dict(
        {
            "defaults": {"idle_after_hours": 24},
            "endpoints": {f"proj_a1/{EP2}": {"idle_after_hours": 1.5}, "ep_other1": {"idle_after_hours": None}},
        }
    )
    assert policy.defaults.idle_after_hours == 24.0
    assert policy.for_v2("proj_a1", EP2, default_project=None).idle_after_hours == 1.5
    assert policy.for_v2("proj_a1", "ep_other1", default_project="proj_a1").idle_after_hours is None
    assert policy.for_v2("proj_a1", "ep_third1", default_project=None).idle_after_hours == 24.0


@pytest.mark.parametrize("value", [0, -1, 721, "24", True, math.nan, math.inf, [24]])
def test_an_invalid_idle_after_hours_names_the_field_and_what_it_accepts(value: object) -> None:
    with pytest.raises(PolicyError) as raised:
        PolicyDocument.from_dict({"defaults": {"idle_after_hours": value}})
    assert str(raised.value) == (
        "policy.defaults.idle_after_hours must be a number of hours above 0 and at most 720, or null to skip the check"
    )


# --- the analytics request ------------------------------------------------------------------------------------------


def test_the_analytics_request_takes_the_documented_parameters_canonically() -> None:
    query = "startTime=2026-11-30T12:00:00Z&endTime=2026-11-30T18:00:00Z&granularity=1h&includeTimeSeries=true"
    request = analytics_request("proj_a1", EP2, query + "&deploymentId=dep_9Gt4")
    assert request.resource is V2Resource.ANALYTICS and request.endpoint_id == EP2
    assert request.target == (
        f"/projects/proj_a1/endpoints/{EP2}/analytics?deploymentId=dep_9Gt4&endTime=2026-11-30T18%3A00%3A00Z"
        "&granularity=1h&includeTimeSeries=true&startTime=2026-11-30T12%3A00%3A00Z"
    )


@pytest.mark.parametrize(
    "query",
    ["startTime=yesterday", "granularity=1week", "includeTimeSeries=yes", "deploymentId=ep_x", "limit=5"],
)
def test_the_analytics_request_refuses_what_the_spec_does_not_document(query: str) -> None:
    with pytest.raises(InvalidQueryError):
        analytics_request("proj_a1", EP2, query)


def test_callers_are_not_routed_to_analytics() -> None:
    with pytest.raises(RouteNotFoundError):
        parse_v2_request(f"/v2/projects/proj_a1/endpoints/{EP2}/analytics", "", frozenset({"proj_a1"}))
