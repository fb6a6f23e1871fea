"""POST /slack/commands: the slash command. Slack's signature is the authentication.

Slack gives up after 3 seconds. An answer that is at hand (a fresh cache entry,
a mute) goes in the HTTP reply; anything slower is acknowledged at once and
finished by an asynchronous self-invocation (routes/slack_followup.py) that
posts to the command's response_url. Every reply is HTTP 200, since Slack shows
any other status as a failure, except a bad signature, which gets a bare 401.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay import container
from endpoint_relay.adapters.lambda_invoker import InvokeError
from endpoint_relay.core import slack_replies
from endpoint_relay.core.alerting import AlertStoreError
from endpoint_relay.core.errors import EndpointNotFoundError, RelayError
from endpoint_relay.core.slack_commands import (
    CheckCommand,
    Command,
    CommandArgumentError,
    HelpCommand,
    MuteCommand,
    StatusCommand,
    UnmuteCommand,
    parse_command,
)
from endpoint_relay.core.slack_signature import SignatureFailure, SlackSignatureError, SlackSignatureVerifier
from endpoint_relay.observability import count, logger
from endpoint_relay.routes.slack_followup import FollowUp, FollowUpKind, muted_until

router = Router()
verifier = SlackSignatureVerifier()

MAX_BODY_BYTES = 16 * 1024
"""Slash command bodies are well under 4 KiB; a larger one is not from Slack and is not worth a MAC."""
_MAX_FORM_FIELDS = 40


@dataclass(frozen=True, slots=True)
class SlashRequest:
    """The form fields the relay uses; never logged whole (response_url is a capability)."""

    command: str
    text: str
    team_id: str
    enterprise_id: str
    user_id: str
    response_url: str

    request_id: str

    @classmethod
    def from_form(cls, form: dict[str, str], *, request_id: str) -> SlashRequest:
        return cls(
            command=form.get("command") or "/together",
            text=form.get("text", ""),
            team_id=form.get("team_id", ""),
            enterprise_id=form.get("enterprise_id", ""),
            user_id=form.get("user_id", ""),
            response_url=form.get("response_url", ""),
            request_id=request_id,
        )

    @property
    def actor(self) -> str:
        """Who muted or unmuted, as the alert state store records it."""
        return f"slack:{self.team_id}:{self.user_id}"

    def followup(self, kind: FollowUpKind, endpoint_id: str | None = None) -> FollowUp:
        return FollowUp(
            kind=kind,
            response_url=self.response_url,
            user_id=self.user_id,
            team_id=self.team_id,
            endpoint_id=endpoint_id,
            correlation_id=self.request_id,
        )


@router.post("/slack/commands")
def slash_command() -> Response[str]:
    event = _event()
    relay = container.get()
    try:
        body = _raw_body(event)
        form = _form(body)
        if form.get("ssl_check") == "1":
            # Slack's certificate probe: nothing to do, and nothing is read or called.
            return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body="")
        # The secret is fetched only once the headers passed their cheap checks.
        verifier.verify(event.headers, body, lambda: relay.secrets.get().slack_signing_secret)
    except SlackSignatureError as exc:
        count("SlackSignatureFailures")
        logger.warning("refused a Slack request", extra={"reason": exc.reason.value})
        raise
    count("SlackCommands")
    request = SlashRequest.from_form(form, request_id=event.request_context.request_id)
    return _json(_answer(relay, request))


def _answer(relay: container.Relay, request: SlashRequest) -> slack_replies.Reply:
    allowed_teams = relay.settings.slack_allowed_team_ids
    if allowed_teams and not ({request.team_id, request.enterprise_id} & allowed_teams):
        logger.info("refused a Slack command from a workspace that is not allowed", extra={"team": request.team_id})
        return slack_replies.team_refused_reply()
    try:
        command = parse_command(request.text)
    except CommandArgumentError as exc:
        return slack_replies.argument_error_reply(exc.message)
    logger.info("Slack command", extra={"command": type(command).__name__, "user": request.user_id})
    return _run(relay, request, command)


def _run(relay: container.Relay, request: SlashRequest, command: Command) -> slack_replies.Reply:
    match command:
        case StatusCommand(endpoint_id=endpoint_id):
            answer = _status_now(relay, endpoint_id)
            if answer is not None:
                return answer
            return _defer(relay, request.followup("status", endpoint_id), f"`{endpoint_id}`")
        case CheckCommand():
            # Always deferred: a sweep of many endpoints can take longer than Slack waits.
            return _defer(relay, request.followup("check"), "the watched endpoints")
        case MuteCommand(endpoint_id=endpoint_id, duration_seconds=seconds):
            if not _may_mute(relay, request):
                return slack_replies.mute_refused_reply()
            until = time.time() + seconds
            try:
                relay.alerts.mute(endpoint_id, until, actor=request.actor)
            except (RelayError, AlertStoreError) as exc:
                return _mute_failed(exc)
            return slack_replies.mute_reply(endpoint_id, until, seconds)
        case UnmuteCommand(endpoint_id=endpoint_id):
            if not _may_mute(relay, request):
                return slack_replies.mute_refused_reply()
            try:
                relay.alerts.unmute(endpoint_id, actor=request.actor)
            except (RelayError, AlertStoreError) as exc:
                return _mute_failed(exc)
            return slack_replies.unmute_reply(endpoint_id)
        case HelpCommand(unknown=unknown):
            return slack_replies.help_reply(request.command, unknown=unknown)


def _status_now(relay: container.Relay, endpoint_id: str) -> slack_replies.Reply | None:
    """The answer from a fresh cache entry, or None when it needs an upstream call."""
    try:
        cached = relay.lookups.cached(endpoint_id)
    except EndpointNotFoundError:  # a fresh, remembered 404
        return slack_replies.not_found_reply(endpoint_id)
    if cached is None:
        return None
    return slack_replies.status_reply(
        cached.endpoint,
        relay.alerts.evaluate(cached.endpoint),
        age_seconds=cached.age,
        muted_until=muted_until(relay, endpoint_id),
    )


def _mute_failed(exc: Exception) -> slack_replies.Reply:
    logger.error("changing a mute failed", extra={"error": type(exc).__name__})
    return slack_replies.failure_reply("The mute could not be changed: the relay's alert state store is not available.")


def _defer(relay: container.Relay, followup: FollowUp, what: str) -> slack_replies.Reply:
    if not relay.slack_responder.is_allowed(followup.response_url):
        logger.warning("Slack command has a response_url outside the allow-list; not deferring")
        return slack_replies.failure_reply("This command needs a little time, and Slack gave no usable reply address.")
    try:
        relay.invoker.invoke_async(followup.event())
    except InvokeError:
        count("SlackFollowUpsNotQueued")
        return slack_replies.failure_reply("The relay could not start that check. Please try again in a moment.")
    return slack_replies.acknowledgement_reply(what)


def _may_mute(relay: container.Relay, request: SlashRequest) -> bool:
    allowed = relay.settings.slack_mute_user_ids
    return not allowed or request.user_id in allowed


def _event() -> APIGatewayProxyEventV2:
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEventV2)  # noqa: S101 - the resolver is the HTTP API one
    return event


def _raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The exact bytes Slack sent: HTTP API base64-encodes form bodies (payload format 2.0)."""
    text = event.body or ""
    if event.is_base64_encoded:
        if len(text) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise SlackSignatureError(SignatureFailure.MALFORMED_BODY)
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise SlackSignatureError(SignatureFailure.MALFORMED_BODY) from None
    else:
        body = text.encode("utf-8", "surrogatepass")
    if len(body) > MAX_BODY_BYTES:
        raise SlackSignatureError(SignatureFailure.MALFORMED_BODY)
    return body


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:  # more fields than any slash command has
        raise SlackSignatureError(SignatureFailure.MALFORMED_BODY) from None
    return {name: values[0] for name, values in fields.items()}


def _json(reply: slack_replies.Reply) -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(reply))
