"""ApiFunction's object graph: lookups, alerting after a retrieval, the fleet view, and the Slack acknowledgement.

The Slack side is built on the first Slack request, the fleet view on the first ``GET /relay/fleet``, and
alerting on the first retrieval (see :mod:`endpoint_relay.wiring.common`): a lookup cold start imports none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, NamedTuple, Unpack

from endpoint_relay.settings import Settings
from endpoint_relay.wiring.common import Shared, SharedOptions, build_shared

if TYPE_CHECKING:
    from endpoint_relay.adapters.lambda_invoker import AsyncInvoker
    from endpoint_relay.core.slack_signature import SlackSignatureVerifier
    from endpoint_relay.wiring.slack_side import SlackSide


class ApiGraph(NamedTuple):
    """ApiFunction's object graph: the shared pieces and, on demand, the Slack side."""

    shared: Shared
    slack: Callable[[], SlackSide]
    """The slash command's collaborators, built on the first Slack request."""


def build_api(
    settings: Settings,
    *,
    invoker: AsyncInvoker | None = None,
    verifier: SlackSignatureVerifier | None = None,
    **options: Unpack[SharedOptions],
) -> ApiGraph:
    shared = build_shared(settings, **options)

    @cache
    def slack() -> SlackSide:
        from endpoint_relay.wiring.slack_side import build_slack_side  # deferred: see the module docstring

        return build_slack_side(shared, invoker=invoker, verifier=verifier)

    return ApiGraph(shared=shared, slack=slack)
