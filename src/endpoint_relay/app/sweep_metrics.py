"""A finished sweep's metrics and summary log line, and the schedule's heartbeat; the sweep alarms watch these."""

from __future__ import annotations

import logging

from aws_lambda_powertools.metrics import MetricUnit

from endpoint_relay.core.alerting import SweepReport
from endpoint_relay.observability import count, metrics

logger = logging.getLogger(__name__)


def emit_sweep_metrics(report: SweepReport) -> None:
    metrics.add_metric(name="SweepDuration", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    count("SweepChecks", len(report.checks))
    count("SweepCheckFailures", len(report.failures))
    count("SweepSkipped", len(report.skipped))  # its alarm fires when two sweeps in a row skip targets
    logger.info(
        "sweep finished",
        extra={
            "checked": len(report.checks),
            "failed": len(report.failures),
            "skipped": len(report.skipped),
            "notifications_sent": report.notifications_sent,
            "delivery_failures": report.delivery_failures,
            "suppressed": report.suppressed,
            "duration_ms": round(report.duration_ms, 1),
        },
    )


def emit_heartbeat() -> None:
    """A scheduled sweep completed: SweepsStoppedAlarm fires when this goes missing.

    Only the schedule's sweeps count: a Slack ``check`` (the same sweep, in the worker) run during an incident
    would otherwise hide that the schedule stopped.
    """
    count("SweepHeartbeat")
