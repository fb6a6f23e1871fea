"""One line per v2 deployment, and per quoted event, in Slack mrkdwn: shared by notices, SNS and replies.

Every value comes from upstream and is escaped (:mod:`endpoint_relay.core.mrkdwn`);
ids and hardware go in code spans so they copy back exactly. A line stays
under :data:`MAX_LINE_CHARS` whatever upstream sends, so ten of them fit in
two sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from endpoint_relay.core.cost import Spend, not_serving_note
from endpoint_relay.core.cost_words import spend_words
from endpoint_relay.core.mrkdwn import clip_mrkdwn, code_span
from endpoint_relay.core.v2_models import DeploymentState
from endpoint_relay.core.v2_notice import DeploymentSnapshot, ReasonLine

MAX_LINE_CHARS = 700
_STATE_PREFIX = "DEPLOYMENT_STATE_"
_LEVEL_PREFIX = "LEVEL_"
_STATE_EMOJI = {
    DeploymentState.READY.value: ":large_green_circle:",
    DeploymentState.SCALING.value: ":large_blue_circle:",
    DeploymentState.PROVISIONING.value: ":hourglass_flowing_sand:",
    DeploymentState.DEGRADED.value: ":large_yellow_circle:",
    DeploymentState.FAILED.value: ":red_circle:",
    DeploymentState.STOPPING.value: ":black_circle:",
    DeploymentState.STOPPED.value: ":white_circle:",
}


@dataclass(frozen=True, slots=True)
class DeploymentLine:
    id: str
    name: str | None
    state: str
    ready: int | None
    desired: int | None
    low: int | None
    high: int | None
    hardware: str | None
    weight: float | None
    """Its live-traffic weight; ``None`` when it gets no live traffic."""
    price_cents_per_hour: int | None = None
    """One replica of ``hardware``; ``None`` when unknown."""

    @property
    def spend(self) -> Spend:
        return Spend(self.hardware, self.ready or 0, self.price_cents_per_hour, self.high)


def short_state(state: str) -> str:
    """``DEPLOYMENT_STATE_READY`` reads as ``READY``; an unknown state is kept whole."""
    return state.removeprefix(_STATE_PREFIX) if state in _STATE_EMOJI else state


def of_snapshot(snapshot: DeploymentSnapshot) -> DeploymentLine:
    return DeploymentLine(
        id=snapshot.id,
        name=snapshot.name,
        state=snapshot.state,
        ready=snapshot.ready_replicas,
        desired=snapshot.desired_replicas,
        low=snapshot.min_replicas,
        high=snapshot.max_replicas,
        hardware=snapshot.hardware,
        weight=snapshot.weight,
        price_cents_per_hour=snapshot.price_cents_per_hour,
    )


def deployment_line(line: DeploymentLine) -> str:
    emoji = _STATE_EMOJI.get(line.state, ":grey_question:")
    name = f"*{clip_mrkdwn(line.name, 120)}* " if line.name else ""
    weight = "no live traffic" if line.weight is None else f"weight {line.weight:g}"
    parts = [
        f"{emoji} {name}{code_span(line.id, 70)}",
        clip_mrkdwn(short_state(line.state), 80),
        f"ready {_count(line.ready)}/{_count(line.desired)}",
        f"min\u2013max {_count(line.low)}\u2013{_count(line.high)}",
        code_span(line.hardware, 120) if line.hardware else "hardware unknown",
        weight,
        spend_words(line.spend),
    ]
    note = not_serving_note(line.state, line.spend)
    if note:
        parts.append(f":warning: {note}")
    return " \u00b7 ".join(parts)  # every part is clipped, so the line stays under MAX_LINE_CHARS


def reason_text(reason: ReasonLine) -> str:
    """An event quoted as the reason: level, time and message, all as sent and escaped."""
    level = clip_mrkdwn(reason.level.removeprefix(_LEVEL_PREFIX), 20)
    when = clip_mrkdwn(reason.at, 40) if reason.at else "time unknown"
    return f"*{level}* {when}: {clip_mrkdwn(reason.message, 500)}"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)
