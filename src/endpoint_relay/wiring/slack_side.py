"""The slash command's acknowledgement in ApiFunction: verifying, guarding and answering, or handing to the worker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from endpoint_relay.adapters.lambda_invoker import AsyncInvoker, InvokeError, LambdaInvoker
from endpoint_relay.adapters.leases import DynamoLeases
from endpoint_relay.adapters.slack_response import SlackResponder
from endpoint_relay.app.slack_commands import SlackCommands
from endpoint_relay.core.leases import Leases, LocalLeases
from endpoint_relay.core.slack_commands import Projects
from endpoint_relay.core.slack_followup import FollowUp
from endpoint_relay.core.slack_signature import SlackSignatureVerifier
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.common import Clock, Shared
from endpoint_relay.wiring.status import endpoint_status


@dataclass(frozen=True, slots=True)
class SlackSide:
    commands: SlackCommands
    verifier: SlackSignatureVerifier
    leases: Leases
    """Who may act once: a workspace's ``check`` per cooldown, each signed Slack request."""


def build_slack_side(
    shared: Shared, *, invoker: AsyncInvoker | None = None, verifier: SlackSignatureVerifier | None = None
) -> SlackSide:
    settings = shared.settings
    alerting = shared.alerting()
    # Only its allow-list is used here: the answer itself is posted by the Slack worker.
    response_urls = SlackResponder(settings.slack_response_url_hosts, allow_http=settings.slack_response_url_allow_http)
    leases = _leases(settings, shared.clock)
    followups = LambdaFollowUpQueue(
        invoker or LambdaInvoker(settings.slack_worker_function), is_allowed=response_urls.is_allowed
    )
    commands = SlackCommands(
        status=endpoint_status(shared),
        mutes=alerting.mutes,
        dispatcher=alerting.dispatcher,
        followups=followups,
        allowed_team_ids=settings.slack_allowed_team_ids,
        mute_user_ids=settings.slack_mute_user_ids,
        check_leases=leases,
        check_cooldown=settings.slack_check_cooldown_seconds,
        projects=Projects(default=settings.default_project_id, allowed=settings.allowed_project_ids),
        clock=shared.clock,
    )
    return SlackSide(commands=commands, verifier=verifier or SlackSignatureVerifier(), leases=leases)


def _leases(settings: Settings, clock: Clock) -> Leases:
    if settings.cache.table_name:
        # Short-lived coordination items sit well in the cache table: keyed apart from endpoint ids, TTL-expired.
        return DynamoLeases(settings.cache.table_name, clock=clock)
    # Without a table each container guards only itself: a replay or a second check may reach another container.
    return LocalLeases(clock=clock)


class LambdaFollowUpQueue:
    """Hands Slack follow-ups to the worker function, for response_urls the worker may post to."""

    def __init__(self, invoker: AsyncInvoker, *, is_allowed: Callable[[str], bool]) -> None:
        self._invoker = invoker
        self.is_allowed = is_allowed

    def enqueue(self, followup: FollowUp) -> bool:
        try:
            self._invoker.invoke_async(followup.event())
        except InvokeError:
            return False
        return True
