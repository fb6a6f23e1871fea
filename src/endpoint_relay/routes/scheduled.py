"""The scheduled sweep's event: EventBridge Scheduler invokes SweepFunction with the schedule's constant input.

Input shape (template.yaml sets it; ``events/scheduled_sweep.json`` is a sample)::

    {"endpoint_relay": "sweep", "endpoints": "all"}
    {"endpoint_relay": "sweep", "endpoints": ["endpoint-a", "endpoint-b"]}   # or "endpoint-a,endpoint-b"

A plain EventBridge "Scheduled Event" (no input) sweeps the configured WATCHED_ENDPOINTS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from endpoint_relay.core.alerting import SweepReport

EVENT_MARKER = "endpoint_relay"
"""The input key that names what a schedule asks SweepFunction for (``"sweep"`` or ``"digest"``)."""
_MAX_TARGETS = 1_000


class InvalidSweepEventError(ValueError):
    """The schedule's input is not a sweep request this relay understands."""


def is_sweep_event(event: dict[str, Any]) -> bool:
    if event.get(EVENT_MARKER) == "sweep":
        return True
    return event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def targets_of(event: dict[str, Any]) -> Sequence[str] | None:
    """The ids to check, ``("all",)``, or None for the configured watched endpoints."""
    if event.get(EVENT_MARKER) != "sweep":
        return None
    endpoints = event.get("endpoints")
    if endpoints is None:
        return None
    if isinstance(endpoints, str):
        targets = tuple(part.strip() for part in endpoints.split(",") if part.strip())
    elif isinstance(endpoints, list) and all(isinstance(item, str) for item in endpoints):
        targets = tuple(item.strip() for item in endpoints if item.strip())
    else:
        raise InvalidSweepEventError('"endpoints" must be "all", a comma-separated string or a list of endpoint ids')
    if not targets or len(targets) > _MAX_TARGETS:
        raise InvalidSweepEventError(f'"endpoints" must name from 1 to {_MAX_TARGETS} endpoints, or be "all"')
    if "all" in targets and targets != ("all",):
        raise InvalidSweepEventError('"all" cannot be combined with endpoint ids')
    return targets


def summary(report: SweepReport) -> dict[str, Any]:
    return {
        "checked": len(report.checks),
        "firing": sorted(check.endpoint_id for check in report.checks if check.findings),
        "failed": [{"endpoint_id": check.endpoint_id, "error": check.error} for check in report.failures],
        "skipped": list(report.skipped),
        "notifications_sent": report.notifications_sent,
        "delivery_failures": report.delivery_failures,
        "suppressed": report.suppressed,
        "duration_ms": round(report.duration_ms, 1),
    }
