"""SweepFunction: the scheduled policy sweep and the daily digest (EventBridge Scheduler)."""

from __future__ import annotations

from endpoint_relay.entrypoints.collector import collector_paused

with collector_paused():  # see entrypoints/collector.py: the imports of every cold start
    from functools import cache
    from typing import TYPE_CHECKING, Any

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from endpoint_relay.app.sweep_metrics import emit_heartbeat
    from endpoint_relay.observability import Handler, logger, metrics, traced
    from endpoint_relay.routes.digest import digest_date, digest_summary, is_digest_event, retry_dates
    from endpoint_relay.routes.scheduled import summary, targets_of
    from endpoint_relay.wiring.sweep import SweepGraph, build_sweep

if TYPE_CHECKING:
    from endpoint_relay.app.digest import DailyDigest
    from endpoint_relay.core.fleet import FleetSource

RESERVE_MS = 2_000
"""Kept back so the sweep records its outcome and flushes metrics before the function timeout."""


def create_handler(graph: SweepGraph, fleet: FleetSource | None = None) -> Handler:
    """``fleet`` is where the digest reads the fleet from (default: see wiring.digest)."""
    deadline = graph.shared.deadline

    @cache
    def digests() -> DailyDigest | None:
        # Built, and imported, on first use: most invocations are sweeps, and only one that owes a digest needs it.
        from endpoint_relay.wiring.digest import build_digest

        return build_digest(graph.shared, fleet)

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # A malformed schedule input fails loudly, before any work.
        date = digest_date(event, graph.shared.clock()) if is_digest_event(event) else None
        targets = targets_of(event)
        with deadline.invocation(context.get_remaining_time_in_millis(), reserve_ms=RESERVE_MS):
            if date is not None:
                digest = digests()
                return digest_summary(digest.run(date) if digest else None)
            result = summary(graph.sweeps.run(targets))
            emit_heartbeat()
            if graph.shared.settings.daily_digest and (digest := digests()):
                # A sink that failed to post a digest is sent it by the next sweep.
                result["digests_retried"] = [
                    report.to_dict() for report in digest.retry_owed(retry_dates(graph.shared.clock()))
                ]
            return result

    return traced(handle, enabled=graph.shared.settings.xray_sdk_enabled)


@cache
def _from_environment() -> Handler:
    from endpoint_relay.settings import Settings

    return create_handler(build_sweep(Settings.from_env()))


def __getattr__(name: str) -> Any:
    if name == "lambda_handler":
        return _from_environment()
    raise AttributeError(name)
