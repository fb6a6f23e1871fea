"""POST /slack/commands: the slash command. Slack's signature is the authentication.

Slack gives up after 3 seconds. An answer that is at hand (a fresh cache entry,
a mute) goes in the HTTP reply; anything slower is acknowledged at once and
finished by the Slack worker function, which posts to the command's
response_url. Every reply is HTTP 200, since Slack shows any other status as a
failure, except a bad or already used signature, which gets a bare 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.leases import Leases
from endpoint_relay.core.lookup import SecretSource
from endpoint_relay.core.slack_commands import SlashRequest
from endpoint_relay.core.slack_signature import SignatureFailure, SlackSignatureError, VerifiedRequest
from endpoint_relay.observability import count
from endpoint_relay.routes.slack import SlackCollaborators

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
"""Slash command bodies are well under 4 KiB; a larger one is not from Slack and is not worth a MAC."""
_MAX_FORM_FIELDS = 40


def answer(
    event: APIGatewayProxyEventV2, slack: Callable[[], SlackCollaborators], secrets: SecretSource
) -> Response[str]:
    try:
        body = _raw_body(event)
        form = _form(body)
        if form.get("ssl_check") == "1":
            # Slack's certificate probe: nothing to do, and nothing is read or called.
            return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body="")
        collaborators = slack()
        # The secret is fetched only once the headers passed their cheap checks.
        verified = collaborators.verifier.verify(event.headers, body, lambda: secrets.get().slack_signing_secret)
        # Only a verified signature is recorded: anyone could fill the table with made-up ones.
        if not _first_use(verified, collaborators.leases):
            raise SlackSignatureError(SignatureFailure.REPLAYED)
    except SlackSignatureError as exc:
        count("SlackSignatureFailures")
        logger.warning("refused a Slack request", extra={"reason": exc.reason.value})
        raise
    count("SlackCommands")
    reply = collaborators.commands.answer(SlashRequest.from_form(form, request_id=event.request_context.request_id))
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(reply))


def _first_use(request: VerifiedRequest, seen_requests: Leases) -> bool:
    """Claims the signature for as long as it would verify, so a captured request cannot be sent twice (re-mute)."""
    # A digest names the request in the table without storing the MAC itself.
    digest = hashlib.sha256(request.signature.encode("utf-8", "surrogatepass")).hexdigest()
    return seen_requests.claim(f"#slack-request#{digest}", until=request.replayable_until + 1) is not None


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
