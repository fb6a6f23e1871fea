"""Request counts per deployment from a v2 analytics answer, read as tolerantly as the spec asks.

Int64 counts arrive as decimal strings (the SDK types them ``str``). That a zero
count follows the proto3 JSON mapping and may be omitted (the field, its
``requestMetrics`` object, or the deployment's whole entry) is INFERRED by the
spec, so absent reads as zero. An unreadable count reads as unknown (``None``):
it never proves a deployment idle.

Both breakdowns are read: ``deploymentAnalytics[].metrics.requestMetrics`` and
``metrics.deploymentMetrics[].requestMetrics``. When neither lists anything, the
endpoint-wide total speaks for every deployment only if it is zero.

Pure: no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from endpoint_relay.core.v2_models import V2ParseError

_MAX_DIGITS = 19
"""An int64 has at most 19 digits; a longer string is not a count."""


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """What one analytics answer says about requests over its window."""

    endpoint_id: str | None = None
    per_deployment: Mapping[str, int | None] = field(default_factory=dict)
    """Deployment id to its count; ``None`` when the answer had a count the relay cannot read."""
    endpoint_total: int | None = 0
    """The endpoint-wide count (absent reads as 0, unreadable as ``None``)."""
    has_breakdown: bool = False
    """Whether the answer listed any deployment at all."""

    def of(self, deployment_id: str) -> int | None:
        """Requests the deployment served in the window; ``None`` when that cannot be told."""
        if deployment_id in self.per_deployment:
            return self.per_deployment[deployment_id]
        if self.has_breakdown:
            return 0  # a deployment left out of the breakdown had no requests (INFERRED)
        return 0 if self.endpoint_total == 0 else None


def count(value: object) -> int | None:
    """An Int64 count: ``"42"`` (or a JSON whole number) -> 42, absent -> 0, anything else -> ``None``."""
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
        return int(value)
    if type(value) is int and value >= 0:
        return value
    return None


def total_requests(metrics: object) -> int | None:
    """``metrics.requestMetrics.totalRequests``; an absent object or field is zero."""
    if metrics is None:
        return 0
    if not isinstance(metrics, dict):
        return None
    request_metrics = metrics.get("requestMetrics")
    if request_metrics is None:
        return 0
    if not isinstance(request_metrics, dict):
        return None
    return count(request_metrics.get("totalRequests"))


def request_counts(document: Any) -> RequestCounts:
    """The counts of an EndpointAnalytics body; raises V2ParseError only when it is not an object at all."""
    if not isinstance(document, dict):
        raise V2ParseError("analytics must be a JSON object")
    endpoint_id = document.get("endpointId")
    metrics = document.get("metrics")
    seen: dict[str, list[int | None]] = {}
    entries = document.get("deploymentAnalytics")
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            _note(seen, entry.get("deploymentId"), total_requests(entry.get("metrics")))
    breakdown = metrics.get("deploymentMetrics") if isinstance(metrics, dict) else None
    for entry in breakdown if isinstance(breakdown, list) else ():
        if isinstance(entry, dict):
            _note(seen, entry.get("deploymentId"), total_requests(entry))
    return RequestCounts(
        endpoint_id=endpoint_id if isinstance(endpoint_id, str) else None,
        per_deployment={key: _combined(values) for key, values in seen.items()},
        endpoint_total=total_requests(metrics),
        has_breakdown=bool(seen),
    )


def _note(seen: dict[str, list[int | None]], deployment_id: object, value: int | None) -> None:
    if isinstance(deployment_id, str) and deployment_id:
        seen.setdefault(deployment_id, []).append(value)


def _combined(values: list[int | None]) -> int | None:
    """Any request seen wins; otherwise one unreadable count leaves the answer unknown."""
    known = [value for value in values if value is not None]
    if any(known):
        return max(known)
    return None if len(known) < len(values) else 0
