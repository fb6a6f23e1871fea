"""The slash command's second half: an asynchronous self-invocation, not an HTTP route.

The event has its own shape (``{"endpoint_relay": "slack_command", ...}``), so
nobody can reach this code through API Gateway; only a principal allowed to
invoke the function can. It does the slow work (an upstream lookup, a sweep)
and posts the answer to the command's response_url.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint_relay import container
from endpoint_relay.adapters.slack_response import (
    ResponseUrlRejectedError,
    SlackResponseError,
    SlackResponseRefusedError,
)
from endpoint_relay.core import slack_replies
from endpoint_relay.core.alerting import AlertStoreError
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from endpoint_relay.core.errors import ConfigurationError, EndpointNotFoundError, RelayError, UpstreamError
from endpoint_relay.observability import count, logger

TASK = "slack_command"
TASK_KEY = "endpoint_relay"
POST_RESERVE_MS = 6_000
"""Time kept back from a sweep so the answer can still be posted (with its retries)."""

FollowUpKind = Literal["status", "check"]


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: FollowUpKind
    response_url: str
    user_id: str
    team_id: str
    endpoint_id: str | None = None
    correlation_id: str | None = None

    def event(self) -> dict[str, Any]:
        return {
            TASK_KEY: TASK,
            "command": self.kind,
            "endpoint_id": self.endpoint_id,
            "response_url": self.response_url,
            "user_id": self.user_id,
            "team_id": self.team_id,
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> FollowUp | None:
        """The follow-up this event asks for, or None if it is not a well-formed one."""
        kind = event.get("command")
        endpoint_id = event.get("endpoint_id")
        texts = [event.get(key) for key in ("response_url", "user_id", "team_id")]
        if not all(isinstance(text, str) and text for text in texts):
            return None
        correlation_id = event.get("correlation_id")
        common = {
            "response_url": event["response_url"],
            "user_id": event["user_id"],
            "team_id": event["team_id"],
            "correlation_id": correlation_id if isinstance(correlation_id, str) else None,
        }
        if kind == "check":
            return cls(kind="check", **common)
        # Checked again here: the event crossed a process boundary.
        if kind == "status" and isinstance(endpoint_id, str) and is_valid_endpoint_id(endpoint_id):
            return cls(kind="status", endpoint_id=endpoint_id, **common)
        return None


def is_followup_event(event: dict[str, Any]) -> bool:
    return event.get(TASK_KEY) == TASK and "requestContext" not in event


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    followup = FollowUp.from_event(event)
    if followup is None:
        # Not retryable: Lambda would only deliver the same malformed event again.
        logger.error("ignoring a malformed Slack follow-up event", extra={"event_keys": sorted(event)[:20]})
        return {"status": "ignored"}
    if followup.correlation_id:
        logger.set_correlation_id(followup.correlation_id)
    if not container.get().slack_responder.is_allowed(followup.response_url):
        # Checked before any work: nothing upstream happens for an answer that could not be delivered.
        logger.error("ignoring a Slack follow-up whose response_url is outside the allow-list")
        return {"status": "ignored"}
    count("SlackFollowUps")
    reply = _check(context) if followup.kind == "check" else _status(followup.endpoint_id or "")
    return _deliver(followup, reply)


def _status(endpoint_id: str) -> slack_replies.Reply:
    relay = container.get()
    try:
        result = relay.lookups.lookup(endpoint_id)
    except EndpointNotFoundError:
        return slack_replies.not_found_reply(endpoint_id)
    except UpstreamError as exc:
        return slack_replies.failure_reply(f"Together gave no usable answer for {endpoint_id}: {exc.message}")
    except RelayError as exc:
        return slack_replies.failure_reply(f"The relay could not look up {endpoint_id}: {exc.message}")
    # A real retrieval feeds the alert state machine; a cached answer is only evaluated.
    fetched = result.status in (CacheStatus.MISS, CacheStatus.REFRESH)
    findings = relay.alerts.observe(result.endpoint) if fetched else relay.alerts.evaluate(result.endpoint)
    return slack_replies.status_reply(
        result.endpoint, findings, age_seconds=result.age, muted_until=muted_until(relay, endpoint_id)
    )


def _check(context: LambdaContext) -> slack_replies.Reply:
    def remaining_ms() -> int:
        return max(0, context.get_remaining_time_in_millis() - POST_RESERVE_MS)

    try:
        report = container.get().alerts.sweep(None, remaining_ms=remaining_ms)
    except (RelayError, AlertStoreError) as exc:
        logger.error("the on-demand check failed", extra={"error": type(exc).__name__})
        return slack_replies.failure_reply(
            "The check could not run; the relay's alerting is not set up or not reachable."
        )
    return slack_replies.check_summary_reply(report)


def muted_until(relay: container.Relay, endpoint_id: str) -> float | None:
    """When the endpoint's mute ends, or None; a status answer is worth more than its mute flag."""
    try:
        return relay.alerts.muted_until(endpoint_id)
    except ConfigurationError:  # alerting runs without a state table: there are no mutes to show
        return None
    except (RelayError, AlertStoreError) as exc:
        logger.warning("mute state unavailable", extra={"endpoint_id": endpoint_id, "error": type(exc).__name__})
        return None


def _deliver(followup: FollowUp, reply: slack_replies.Reply) -> dict[str, Any]:
    extra = {"command": followup.kind, "endpoint_id": followup.endpoint_id}
    try:
        container.get().slack_responder.post(followup.response_url, reply)
    except (ResponseUrlRejectedError, SlackResponseRefusedError) as exc:
        logger.error("the Slack answer was not delivered and will not be retried", extra={**extra, "why": str(exc)})
        count("SlackFollowUpsUndeliverable")
        return {"status": "undeliverable"}
    except SlackResponseError:
        # Raising makes Lambda retry the asynchronous event later, instead of dropping the answer.
        logger.warning("the Slack answer was not delivered; Lambda will retry the follow-up", extra=extra)
        raise
    logger.info("Slack follow-up answered", extra=extra)
    return {"status": "delivered"}
