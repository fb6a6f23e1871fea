"""The Slack worker's job: do the slow part of a command and post the answer to its response_url."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from endpoint_relay.app.endpoint_status import EndpointStatus
from endpoint_relay.app.sweep import SweepRunner
from endpoint_relay.core import slack_replies
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import RelayError
from endpoint_relay.core.fleet import FleetSource
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
    status: EndpointStatus
    sweeps: SweepRunner
    poster: AnswerPoster
    deadline: Deadline
    post_seconds: float
    """Kept back from a ``check`` sweep so the answer can still be posted."""
    fleet: Callable[[], FleetSource]
    """The fleet spend view, built on the first ``spend``."""

    def handle(self, followup: FollowUp) -> str:
        """Answer the follow-up; returns "delivered", "ignored" or "undeliverable".

        A failed post raises, so the invocation fails and lands in the worker's failure destination.
        """
        if not self.poster.is_allowed(followup.response_url):
            # Checked before any work: nothing upstream happens for an answer that could not be delivered.
            logger.error("ignoring a Slack follow-up whose response_url is outside the allow-list")
            return "ignored"
        count("SlackFollowUps")
        if followup.kind == "spend":
            reply = self._spend()
        elif followup.endpoint_id is None:
            reply = self._check()
        else:
            with self.deadline.reserving(self.post_seconds):
                reply = self.status.fetched(followup.endpoint_id, check=followup.kind == "check")
        extra = {"command": followup.kind, "endpoint_id": followup.endpoint_id}
        try:
            self.poster.post(followup.response_url, reply)
        except AnswerRefusedError as exc:
            logger.error("the Slack answer was not delivered and cannot be", extra={**extra, "why": str(exc)})
            count("SlackFollowUpsUndeliverable")
            return "undeliverable"
        logger.info("Slack follow-up answered", extra=extra)
        return "delivered"

    def _spend(self) -> slack_replies.Reply:
        from endpoint_relay.core.slack_spend import spend_reply  # only a spend needs it

        try:
            with self.deadline.reserving(self.post_seconds):
                fleet = self.fleet().fleet()
        except RelayError as exc:
            logger.error("the fleet spend view failed", extra={"error_code": exc.code, "error": type(exc).__name__})
            return slack_replies.failure_reply("The fleet's spend could not be read from Together just now.")
        return spend_reply(fleet)

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
