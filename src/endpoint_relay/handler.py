"""Lambda entry point: one function, three triggers, told apart by the event's shape."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_relay import container
from endpoint_relay.observability import logger, metrics, traced
from endpoint_relay.routes import endpoints, errors, health, scheduled, slack, slack_followup

app = APIGatewayHttpResolver()
app.include_router(endpoints.router)
app.include_router(health.router)
app.include_router(slack.router)
errors.install(app)

# Validate configuration at cold start: a bad value fails the init, loudly.
_settings = container.get().settings


def _is_http_api_event(event: dict[str, Any]) -> bool:
    return event.get("version") == "2.0" and "requestContext" in event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _is_http_api_event(event):
        return app.resolve(event, context)
    # --- scheduled sweep dispatch (issue 3) goes here ---
    if scheduled.is_sweep_event(event):
        return scheduled.handle(event, context)
    # --- Slack asynchronous follow-up dispatch (issue 4) goes here ---
    if slack_followup.is_followup_event(event):
        return slack_followup.handle(event, context)
    logger.error("unrecognised event shape", extra={"event_keys": sorted(event)[:20]})
    raise ValueError("endpoint-relay does not handle this kind of event")


lambda_handler = traced(_handle, enabled=_settings.xray_sdk_enabled)
