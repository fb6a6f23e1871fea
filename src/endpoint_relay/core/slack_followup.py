"""The Slack command's second half, as an event: what the acknowledgement hands to the Slack worker.

The event has its own shape (``{"endpoint_relay": "slack_command", ...}``) and
reaches the worker only through an asynchronous Lambda invocation, never
through API Gateway. It is parsed again on arrival: it crossed a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from endpoint_relay.core.endpoint_ref import is_alert_key

TASK = "slack_command"
TASK_KEY = "endpoint_relay"

FollowUpKind = Literal["status", "check", "spend"]


class AnswerRefusedError(Exception):
    """Slack refused the answer for good (an expired or used-up response_url): retrying cannot help."""


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
        if event.get(TASK_KEY) != TASK or "requestContext" in event:
            return None
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
        # A v1 id or ``proj_…/ep_…``: the acknowledgement resolved a bare ``ep_…`` to its project.
        named = isinstance(endpoint_id, str) and is_alert_key(endpoint_id)
        if kind == "check" and (endpoint_id is None or named):
            return cls(kind="check", endpoint_id=endpoint_id if named else None, **common)
        if kind == "spend" and endpoint_id is None:
            return cls(kind="spend", **common)
        if kind == "status" and named:
            return cls(kind="status", endpoint_id=endpoint_id, **common)
        return None
