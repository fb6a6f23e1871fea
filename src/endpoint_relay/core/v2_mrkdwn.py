"""One line per v2 deployment, and per quoted event, in Slack mrkdwn: shared by notices, SNS and replies.

Every value comes from upstream and is escaped (:mod:`endpoint_relay.core.mrkdwn`);
ids and hardware go in code spans so they copy back exactly. A line stays
under :data:`MAX_LINE_CHARS` whatever upstream sends, so ten of them fit in
two sections.
"""

from __future__ import annotations

from endpoint_relay.core.cost import not_serving_note
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


def short_state(state: str) -> str:
    """``DEPLOYMENT_STATE_READY`` reads as ``READY``; an unknown state is kept whole."""
    return state.removeprefix(_STATE_PREFIX) if state in _STATE_EMOJI else state


def deployment_line(deployment: DeploymentSnapshot) -> str:
    """A deployment as a notice froze it, or as a status reply sees it now."""
    emoji = _STATE_EMOJI.get(deployment.state, ":grey_question:")
    name = f"*{clip_mrkdwn(deployment.name, 120)}* " if deployment.name else ""
    weight = "no live traffic" if deployment.weight is None else f"weight {deployment.weight:g}"
    spend = deployment.spend
    parts = [
        f"{emoji} {name}{code_span(deployment.id, 70)}",
        clip_mrkdwn(short_state(deployment.state), 80),
        f"ready {_count(deployment.ready_replicas)}/{_count(deployment.desired_replicas)}",
        f"min\u2013max {_count(deployment.min_replicas)}\u2013{_count(deployment.max_replicas)}",
        code_span(deployment.hardware, 120) if deployment.hardware else "hardware unknown",
        weight,
        spend_words(spend),
    ]
    note = not_serving_note(deployment.state, spend)
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
