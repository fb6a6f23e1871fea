"""ApiFunction: lookups, /healthz and the Slack command's acknowledgement (HTTP API, payload format 2.0)."""

from __future__ import annotations

from endpoint_relay.entrypoints.collector import collector_paused

with collector_paused():  # see entrypoints/collector.py: the imports of every cold start
    from functools import cache
    from typing import Any

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from endpoint_relay.http_api import create_app
    from endpoint_relay.observability import Handler, logger, metrics, traced
    from endpoint_relay.wiring.api import ApiGraph, build_api

ANSWER_RESERVE_MS = 1_000
"""Kept back from every remote call so the answer (even an error) goes out before API Gateway gives up."""


def create_handler(graph: ApiGraph) -> Handler:
    app = create_app(graph)
    deadline = graph.shared.deadline

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with deadline.invocation(context.get_remaining_time_in_millis(), reserve_ms=ANSWER_RESERVE_MS):
            return app.resolve(event, context)

    return traced(handle, enabled=graph.shared.settings.xray_sdk_enabled)


@cache
def graph() -> ApiGraph:
    """This container's object graph, built from the environment (benchmarks reach into it too)."""
    from endpoint_relay.settings import Settings

    return build_api(Settings.from_env())


@cache
def _from_environment() -> Handler:
    return create_handler(graph())


def __getattr__(name: str) -> Any:
    if name == "lambda_handler":
        return _from_environment()
    raise AttributeError(name)
