"""SlackWorkerFunction: the slow half of a Slack command, invoked asynchronously by ApiFunction.

A failure raises, so Lambda sends the event to the function's OnFailure
destination (an SQS queue with an alarm) instead of losing it silently.
"""

from __future__ import annotations

from endpoint_relay.entrypoints.collector import collector_paused

with collector_paused():  # see entrypoints/collector.py: the imports of every cold start
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from endpoint_relay.core.slack_followup import FollowUp
    from endpoint_relay.observability import Handler, logger, metrics, traced
    from endpoint_relay.wiring.worker import WorkerGraph, build_worker

RESERVE_MS = 1_000


def create_handler(graph: WorkerGraph) -> Handler:
    deadline = graph.shared.deadline

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        followup = FollowUp.from_event(event)
        if followup is None:
            # Not retryable: the same malformed event would only arrive again.
            logger.error("ignoring a malformed Slack follow-up event", extra={"event_keys": sorted(event)[:20]})
            return {"status": "ignored"}
        if followup.correlation_id:
            logger.set_correlation_id(followup.correlation_id)
        with deadline.invocation(context.get_remaining_time_in_millis(), reserve_ms=RESERVE_MS):
            return {"status": graph.followups.handle(followup)}

    return traced(handle, enabled=graph.shared.settings.xray_sdk_enabled)


@cache
def _from_environment() -> Handler:
    from endpoint_relay.settings import Settings

    return create_handler(build_worker(Settings.from_env()))


def __getattr__(name: str) -> Any:
    if name == "lambda_handler":
        return _from_environment()
    raise AttributeError(name)
