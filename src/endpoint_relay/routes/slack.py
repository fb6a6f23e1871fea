"""POST /slack/commands: registered at init, answered by :mod:`endpoint_relay.routes.slash_command`.

The answering side (signature checks, commands, replies) loads on the first Slack request, so a
lookup's cold start never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from endpoint_relay.core.lookup import SecretSource

if TYPE_CHECKING:
    from endpoint_relay.app.slack_commands import SlackCommands
    from endpoint_relay.core.leases import Leases
    from endpoint_relay.core.slack_signature import SlackSignatureVerifier


class SlackCollaborators(Protocol):
    """What answering a slash command takes; built on the first Slack request, so lookups never pay for it."""

    @property
    def commands(self) -> SlackCommands: ...

    @property
    def verifier(self) -> SlackSignatureVerifier: ...

    @property
    def leases(self) -> Leases:
        """Remembers each signed request, so a captured one cannot be sent twice."""
        ...


def slack_router(*, slack: Callable[[], SlackCollaborators], secrets: SecretSource) -> Router:
    router = Router()

    @router.post("/slack/commands")
    def slash_command() -> Response[str]:
        from endpoint_relay.routes.slash_command import answer  # deferred: a lookup never loads the Slack side

        event = router.current_event
        assert isinstance(event, APIGatewayProxyEventV2)  # noqa: S101 - the resolver is the HTTP API one
        return answer(event, slack, secrets)

    return router
