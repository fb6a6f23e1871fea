"""The Slack worker's job: do the slow part of a command and post the answer to its response_url."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.app.slack_commands import muted_until
from endpoint_relay.app.sweep import SweepRunner
from endpoint_relay.core import slack_replies
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import EndpointNotFoundError, RelayError, UpstreamError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.slack_followup import AnswerRefusedError, FollowUp
from endpoint_relay.observability import count

logger = logging.getLogger(__name__)


class AnswerPoster(Protocol):
    def is_allowed(self, response_url: str) -> bool: ...

    def post(self, response_url: str, reply: slack_replies.Reply) -> None:
        """Post the answer; raise AnswerRefusedError or another exception when it did not arrive."""
        ...


@dataclass(kw_only=True, slots=True, eq=False)
class SlackFollowUps:
    lookups: LookupService
    alerts: LookupAlerts
    recorder: DecisionRecorder
    mutes: Mutes
    sweeps: SweepRunner
    poster: AnswerPoster
    deadline: Deadline
    post_seconds: float
    """Kept back from a ``check`` sweep so the answer can still be posted."""

    def handle(self, followup: FollowUp) -> str:
        """Answer the follow-up; returns "delivered", "ignored" or "undeliverable".

        A failed post raises, so the invocation fails and lands in the worker's failure destination.
        """
        if not self.poster.is_allowed(followup.response_url):
            # Checked before any work: nothing upstream happens for an answer that could not be delivered.
            logger.error("ignoring a Slack follow-up whose response_url is outside the allow-list")
            return "ignored"
        count("SlackFollowUps")
        reply = self._check() if followup.kind == "check" else self._status(followup.endpoint_id or "")
        extra = {"command": followup.kind, "endpoint_id": followup.endpoint_id}
        try:
            self.poster.post(followup.response_url, reply)
        except AnswerRefusedError as exc:
            logger.error("the Slack answer was not delivered and cannot be", extra={**extra, "why": str(exc)})
            count("SlackFollowUpsUndeliverable")
            return "undeliverable"
        logger.info("Slack follow-up answered", extra=extra)
        return "delivered"

    def _status(self, endpoint_id: str) -> slack_replies.Reply:
        try:
            result = self.lookups.lookup(endpoint_id)
        except EndpointNotFoundError:
            return slack_replies.not_found_reply(endpoint_id)
        except UpstreamError as exc:
            return slack_replies.failure_reply(f"Together gave no usable answer for {endpoint_id}: {exc.message}")
        except RelayError as exc:
            return slack_replies.failure_reply(f"The relay could not look up {endpoint_id}: {exc.message}")
        try:
            # A real retrieval feeds the alert lifecycle; a cached answer is only evaluated.
            fetched = result.status in (CacheStatus.MISS, CacheStatus.REFRESH)
            endpoint = result.endpoint
            findings = self.alerts.observe(endpoint) if fetched else self.recorder.evaluate(endpoint)
        except RelayError as exc:
            logger.error("evaluating the policy failed", extra={"error_code": exc.code, "error": type(exc).__name__})
            return slack_replies.failure_reply(
                f"The relay found {endpoint_id} but could not evaluate its policy; the alerting setup needs a look."
            )
        return slack_replies.status_reply(
            result.endpoint, findings, age_seconds=result.age, muted_until=muted_until(self.mutes, endpoint_id)
        )

    def _check(self) -> slack_replies.Reply:
        try:
            with self.deadline.reserving(self.post_seconds):
                report = self.sweeps.run(None)
        except RelayError as exc:
            logger.error("the on-demand check failed", extra={"error_code": exc.code, "error": type(exc).__name__})
            return slack_replies.failure_reply(
                "The check could not run; the relay's alerting is not set up or not reachable."
            )
        return slack_replies.check_summary_reply(report)
