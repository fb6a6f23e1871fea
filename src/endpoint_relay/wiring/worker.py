"""SlackWorkerFunction's object graph: the slow half of Slack commands (status lookups and checks)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from endpoint_relay.adapters.slack_response import SlackResponder
from endpoint_relay.app.slack_followups import SlackFollowUps
from endpoint_relay.core.alerting import Sink
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.common import PROCESS_DEADLINE, Clock, Shared, build_shared
from endpoint_relay.wiring.sweep import sweep_runner


@dataclass(frozen=True, slots=True)
class WorkerGraph:
    shared: Shared
    followups: SlackFollowUps


def build_worker(
    settings: Settings,
    *,
    clock: Clock = time.time,
    deadline: Deadline = PROCESS_DEADLINE,
    sinks: Sequence[Sink] | None = None,
    responder: SlackResponder | None = None,
) -> WorkerGraph:
    shared = build_shared(settings, clock=clock, sinks=sinks, deadline=deadline)
    poster = responder or SlackResponder(
        settings.slack_response_url_hosts, allow_http=settings.slack_response_url_allow_http, deadline=shared.deadline
    )
    followups = SlackFollowUps(
        lookups=shared.lookups,
        alerts=shared.lookup_alerts,
        recorder=shared.recorder,
        mutes=shared.mutes,
        sweeps=sweep_runner(shared),
        poster=poster,
        deadline=shared.deadline,
        post_seconds=poster.worst_case_seconds(),
    )
    return WorkerGraph(shared=shared, followups=followups)
