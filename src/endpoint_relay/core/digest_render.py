"""The daily digest as a Slack incoming-webhook message and as an Amazon Q custom notification (SNS).

Both carry the same mrkdwn lines (Amazon Q renders ``client-markdown`` as Slack's
mrkdwn in a Slack channel), escaped as alert notices are (core.mrkdwn): names come
from upstream and are hostile. The Slack message stays within Block Kit's limits:
the digest caps its lists, and lines are packed into sections of at most 3,000
characters.
"""

from __future__ import annotations

import json
from typing import Any

from endpoint_relay.core.block_kit import Block, context, field, sections
from endpoint_relay.core.digest import CostLine, Digest, FiringLine, IdleLine
from endpoint_relay.core.money import dollars, per_day, per_hour
from endpoint_relay.core.mrkdwn import clip_mrkdwn, clip_plain_text, code_span, single_line
from endpoint_relay.core.sns_message import SnsMessage, subject_line, whole_lines
from endpoint_relay.core.v2_mrkdwn import short_state

_EMOJI = "\U0001f4b0"
_SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":large_yellow_circle:"}
THREAD_ID = "endpoint-relay-daily-digest"


def title(digest: Digest) -> str:
    return f"{_EMOJI} Daily digest {digest.date}: {per_day(digest.cents_per_hour)}"


def overview(digest: Digest) -> list[tuple[str, str]]:
    """Label and value pairs: the fleet's spend and what the lists below leave out."""
    pairs = [
        ("Fleet spend", f"{per_day(digest.cents_per_hour)} ({per_hour(digest.cents_per_hour)})"),
        ("Holding replicas", f"{digest.lines} line(s)"),
        ("Idle", f"{digest.idle_total} line(s), {dollars(digest.idle_cents_per_day)}/day"),
        ("Firing", f"{digest.firing_total} endpoint(s)"),
    ]
    if digest.unpriced:
        pairs.append(("Price unknown", f"{digest.unpriced} line(s), left out of the totals"))
    if digest.unreadable:
        sources = ", ".join(code_span(source, 60) for source in digest.unreadable[:5])
        pairs.append(("Not read", f"{sources}: left out of the totals"))
    return pairs


def _who(name: str, key: str, deployment_id: str | None) -> str:
    where = code_span(deployment_id if deployment_id else key, 120)
    return f"*{clip_mrkdwn(single_line(name), 120)}* {where}"


def _top_line(line: CostLine) -> str:
    state = clip_mrkdwn(single_line(short_state(line.state)), 40)
    spend = clip_mrkdwn(single_line(line.spend), 200)
    return f"\u2022 {_who(line.name, line.key, line.deployment_id)} \u00b7 {state} \u00b7 {spend}"


def _idle_line(line: IdleLine) -> str:
    waste = "price unknown" if line.cents_per_day is None else f"{dollars(line.cents_per_day)}/day"
    text = f"\u2022 {_who(line.name, line.key, line.deployment_id)} \u00b7 wastes {waste}"
    if line.message:
        text += f" \u00b7 {clip_mrkdwn(single_line(line.message), 400)}"
    return text


def _firing_line(line: FiringLine) -> str:
    emoji = _SEVERITY_EMOJI.get(line.severity, ":white_circle:")
    muted = " (muted)" if line.muted else ""
    summary = clip_mrkdwn(single_line(line.summary), 500)
    name = clip_mrkdwn(single_line(line.name), 120)
    return f"{emoji} *{line.severity}*{muted} {code_span(line.key, 120)} {name}: {summary}"


def _more(shown: int, total: int) -> list[str]:
    return [f"_\u2026and {total - shown} more_"] if total > shown else []


def lists(digest: Digest) -> list[list[str]]:
    """The digest's three lists, each a heading and its lines (an empty list says so)."""
    top = [_top_line(line) for line in digest.top]
    idle = [_idle_line(line) for line in digest.idle] + _more(len(digest.idle), digest.idle_total)
    firing = [_firing_line(line) for line in digest.firing] + _more(len(digest.firing), digest.firing_total)
    return [
        ["*Most expensive*", *top] if top else ["_Nothing holds replicas._"],
        ["*Idle, still billing*", *idle] if idle else ["_Nothing idle._"],
        ["*Firing*", *firing] if firing else ["_Nothing firing._"],
    ]


# -- Slack ------------------------------------------------------------------------------------------------------


def slack_payload(digest: Digest) -> dict[str, Any]:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip_plain_text(title(digest), 150), "emoji": True}},
        {
            "type": "section",
            "fields": [field(label, value) for label, value in overview(digest)],
        },
    ]
    for part in lists(digest):
        blocks.extend(sections(part))
    blocks.append(context(f"endpoint-relay \u00b7 {digest.generated_at}"))
    return {"text": clip_mrkdwn(title(digest), 1000), "blocks": blocks}


# -- SNS (Amazon Q custom notification) ---------------------------------------------------------------------------


def sns_message(digest: Digest) -> SnsMessage:
    document = {
        "version": "1.0",
        "source": "custom",
        "id": digest.id,
        "content": {
            "textType": "client-markdown",
            "title": title(digest),
            "description": _description(digest),
            "keywords": ["endpoint-relay", "daily-digest", "cost"],
        },
        "metadata": {
            "threadId": THREAD_ID,
            "summary": f"Daily digest {digest.date}: {per_day(digest.cents_per_hour)}, {digest.firing_total} firing",
            "eventType": "EndpointRelayDailyDigest",
            "relatedResources": [],
            "additionalContext": {
                "date": digest.date,
                "cents_per_hour": str(digest.cents_per_hour),
                "cents_per_day": str(digest.cents_per_day),
                "idle_cents_per_day": str(digest.idle_cents_per_day),
                "firing": str(digest.firing_total),
                "generated_at": digest.generated_at,
            },
        },
    }
    return SnsMessage(
        subject=subject_line(f"[INFO] Daily digest {digest.date}: {per_day(digest.cents_per_hour)}"),
        message=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        attributes={"severity": "info", "kind": ("daily_digest",), "status": "digest"},
    )


def _description(digest: Digest) -> str:
    lines = [f"*{label}:* {value}" for label, value in overview(digest)]
    for part in lists(digest):
        lines.extend(part)
    return whole_lines(lines)
