"""Answers a verified slash command within Slack's 3 seconds: at once, or by queueing a follow-up.

Input is a parsed, signature-checked request; output is the ephemeral reply.
Anything that goes wrong becomes a polite reply and a log line, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Protocol

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.endpoint_status import EndpointStatus
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.recorder import Owed
from endpoint_relay.core import slack_replies
from endpoint_relay.core.errors import RelayError
from endpoint_relay.core.leases import Leases
from endpoint_relay.core.slack_commands import (
    NO_PROJECTS,
    CheckCommand,
    Command,
    CommandArgumentError,
    HelpCommand,
    MuteCommand,
    Projects,
    SlashRequest,
    SpendCommand,
    StatusCommand,
    UnmuteCommand,
    parse_command,
)
from endpoint_relay.core.slack_followup import FollowUp
from endpoint_relay.observability import count

logger = logging.getLogger(__name__)


class FollowUpQueue(Protocol):
    def is_allowed(self, response_url: str) -> bool: ...

    def enqueue(self, followup: FollowUp) -> bool:
        """Hand the follow-up to the Slack worker; False if it could not be queued."""
        ...


class SlackCommands:
    def __init__(
        self,
        *,
        status: EndpointStatus,
        mutes: Mutes,
        dispatcher: NoticeDispatcher,
        followups: FollowUpQueue,
        allowed_team_ids: Collection[str],
        mute_user_ids: Collection[str],
        check_leases: Leases,
        check_cooldown: int,
        projects: Projects = NO_PROJECTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._status = status
        self._mutes = mutes
        self._dispatcher = dispatcher
        self._followups = followups
        self._allowed_teams = frozenset(allowed_team_ids)
        self._mute_users = frozenset(mute_user_ids)
        self._check_leases = check_leases
        self._check_cooldown = check_cooldown
        self._projects = projects
        self._clock = clock

    def answer(self, request: SlashRequest) -> slack_replies.Reply:
        if self._allowed_teams and not ({request.team_id, request.enterprise_id} & self._allowed_teams):
            logger.info("refused a Slack command from a workspace that is not allowed", extra={"team": request.team_id})
            return slack_replies.team_refused_reply()
        try:
            command = parse_command(request.text, self._projects)
        except CommandArgumentError as exc:
            return slack_replies.argument_error_reply(exc.message)
        logger.info("Slack command", extra={"command": type(command).__name__, "user": request.user_id})
        try:
            return self._run(request, command)
        except RelayError as exc:
            # A policy, configuration or dependency failure: the person still gets an answer.
            logger.error("a Slack command failed", extra={"error_code": exc.code, "error": type(exc).__name__})
            return slack_replies.failure_reply("The relay could not answer that just now; please try again later.")

    def _run(self, request: SlashRequest, command: Command) -> slack_replies.Reply:
        match command:
            case StatusCommand(endpoint_id=endpoint_id):
                return self._status.cached(endpoint_id) or self._defer(request.followup("status", endpoint_id))
            case CheckCommand(endpoint_id=endpoint_id):
                return self._check(request, endpoint_id)
            case SpendCommand():
                # Always deferred: it reads every project's list and the alert table.
                return self._defer(request.followup("spend"))
            case MuteCommand(endpoint_id=endpoint_id, duration_seconds=seconds):
                if not self._may_mute(request):
                    return slack_replies.mute_refused_reply(allow_list_empty=not self._mute_users)
                until = self._clock() + seconds
                try:
                    announcement = self._mutes.mute(endpoint_id, until, actor=request.actor)
                except RelayError as exc:
                    return _mute_failed(exc)
                self._announce(announcement)
                return slack_replies.mute_reply(endpoint_id, until, seconds)
            case UnmuteCommand(endpoint_id=endpoint_id):
                if not self._may_mute(request):
                    return slack_replies.mute_refused_reply(allow_list_empty=not self._mute_users)
                try:
                    announcement = self._mutes.unmute(endpoint_id, actor=request.actor)
                except RelayError as exc:
                    return _mute_failed(exc)
                self._announce(announcement)
                return slack_replies.unmute_reply(endpoint_id)
            case HelpCommand(unknown=unknown):
                return slack_replies.help_reply(request.command, unknown=unknown)

    def _announce(self, announcement: Owed | None) -> None:
        """Deliver a mute's announcement now if the request has time; it is owed either way, so a sweep would."""
        tally = self._dispatcher.dispatch([announcement] if announcement else [])
        tally.emit()

    def _check(self, request: SlashRequest, endpoint_id: str | None) -> slack_replies.Reply:
        # A check force-refreshes what it covers: one per workspace (and endpoint) per cooldown, whoever asks.
        key = f"#check#{request.team_id}" + (f"#{endpoint_id}" if endpoint_id else "")
        token = self._check_leases.claim(key, until=self._clock() + self._check_cooldown)
        if token is None:
            count("SlackChecksRefused")
            return slack_replies.check_busy_reply(self._check_cooldown, endpoint_id)
        # Always deferred: a sweep of many endpoints, or a fresh retrieval and its notice, can outlast Slack's wait.
        followup = request.followup("check", endpoint_id)
        return self._defer(followup, not_queued=lambda: self._check_leases.release(key, token))

    def _defer(self, followup: FollowUp, *, not_queued: Callable[[], None] = lambda: None) -> slack_replies.Reply:
        if not self._followups.is_allowed(followup.response_url):
            logger.warning("Slack command has a response_url outside the allow-list; not deferring")
            not_queued()
            return slack_replies.failure_reply(
                "This command needs a little time, and Slack gave no usable reply address."
            )
        if not self._followups.enqueue(followup):
            count("SlackFollowUpsNotQueued")
            not_queued()
            return slack_replies.failure_reply("The relay could not start that check. Please try again in a moment.")
        what = f"`{followup.endpoint_id}`" if followup.endpoint_id else "the watched endpoints"
        if followup.kind == "spend":
            what = "what the fleet bills"
        return slack_replies.acknowledgement_reply(what)

    def _may_mute(self, request: SlashRequest) -> bool:
        # Nobody by default: a mute silences on-call, so it is granted by name, never by workspace membership.
        return bool({request.user_id, f"{request.team_id}:{request.user_id}"} & self._mute_users)


def _mute_failed(exc: Exception) -> slack_replies.Reply:
    logger.error("changing a mute failed", extra={"error": type(exc).__name__})
    return slack_replies.failure_reply("The mute could not be changed: the relay's alert state store is not available.")
