"""SlackWorkerFunction's object graph: the slow half of Slack commands (status lookups and checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Unpack

from endpoint_relay.adapters.slack_response import SlackResponder
from endpoint_relay.app.slack_followups import SlackFollowUps
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.common import Shared, SharedOptions, build_shared
from endpoint_relay.wiring.status import endpoint_status
from endpoint_relay.wiring.sweep import sweep_runner


@dataclass(frozen=True, slots=True)
class WorkerGraph:
    shared: Shared
    followups: SlackFollowUps


def build_worker(
    settings: Settings,
    *,
    responder: SlackResponder | None = None,
    **options: Unpack[SharedOptions],
) -> WorkerGraph:
    shared = build_shared(settings, **options)
    poster = responder or SlackResponder(
        settings.slack_response_url_hosts, allow_http=settings.slack_response_url_allow_http, deadline=shared.deadline
    )

    followups = SlackFollowUps(
        status=endpoint_status(shared),
        sweeps=sweep_runner(shared),
        poster=poster,
        deadline=shared.deadline,
        post_seconds=poster.worst_case_seconds(),
        fleet=shared.fleet,  # only a spend builds it
    )
    return WorkerGraph(shared=shared, followups=followups)
