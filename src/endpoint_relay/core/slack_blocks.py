"""Block Kit messages for alert notices, within Slack's limits; every upstream string is escaped (core.mrkdwn)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from endpoint_relay.core.alerting import Notice, NoticeKind
from endpoint_relay.core.block_kit import MAX_FIELD_CHARS as MAX_FIELD_CHARS
from endpoint_relay.core.block_kit import MAX_HEADER_CHARS as MAX_HEADER_CHARS
from endpoint_relay.core.block_kit import MAX_SECTION_CHARS as MAX_SECTION_CHARS
from endpoint_relay.core.block_kit import Block, context, field, section, sections
from endpoint_relay.core.mrkdwn import clip_mrkdwn, clip_plain_text, code_span, escape_mrkdwn
from endpoint_relay.core.notice_cost import endpoint_cost
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.v2_mrkdwn import deployment_line, reason_text, short_state

MAX_BLOCKS = 50
MAX_FIELDS = 10
MAX_FALLBACK_CHARS = 1000
"""The top-level ``text`` is only the notification preview; keep it short."""


_SEVERITY_EMOJI = {Severity.CRITICAL: ":red_circle:", Severity.WARNING: ":large_yellow_circle:"}


@dataclass(frozen=True)
class SlackMessage:
    notice_ids: tuple[str, ...]
    payload: dict[str, Any]


def header_text(notice: Notice) -> str:
    emoji, title = notice.kind.heading
    name = notice.endpoint.display_name or notice.endpoint.id
    prefix = f"{emoji} {title}: "
    # plain_text formats nothing, so no fences: the name copies back exactly.
    return prefix + clip_plain_text(name, MAX_HEADER_CHARS - len(prefix))


def notice_blocks(notice: Notice, console_url: str) -> list[Block]:
    endpoint = notice.endpoint
    if notice.kind.is_announcement:
        return _announcement_blocks(notice, console_url)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header_text(notice), "emoji": True}},
        {"type": "section", "fields": [field(label, value) for label, value in _fields(notice)][:MAX_FIELDS]},
    ]
    if endpoint.deployments:
        blocks.extend(sections(["*Deployments*", *(deployment_line(d) for d in endpoint.deployments)]))
    heading = "*Cleared findings*" if notice.kind is NoticeKind.RESOLVED else "*Findings*"
    lines = [_finding_line(finding) for finding in notice.findings] or ["_none recorded_"]
    blocks.extend(sections([heading, *lines]))
    if endpoint.reason:
        blocks.extend(sections(["*Why (the endpoint's events)*", *(reason_text(r) for r in endpoint.reason)]))
    link = f"<{console_url}|Open {escape_mrkdwn(endpoint.id)} in the Together console>"
    blocks.append(context(f"{link} \u00b7 endpoint-relay"))
    return blocks


def _announcement_blocks(notice: Notice, console_url: str) -> list[Block]:
    """Who muted or unmuted which endpoint, and until when: alerts for it stop, or start again."""
    endpoint_id = notice.endpoint.id
    fields = [("Endpoint", code_span(endpoint_id, 120)), ("By", _identifier(notice.actor or ""))]
    if notice.kind is NoticeKind.MUTED:
        fields.append(("Until", _utc(notice.muted_until)))
        what = "No alerts for this endpoint until then."
    else:
        what = "Alerts for this endpoint are back on."
    link = f"<{console_url}|Open {escape_mrkdwn(endpoint_id)} in the Together console>"
    return [
        {"type": "header", "text": {"type": "plain_text", "text": header_text(notice), "emoji": True}},
        {"type": "section", "fields": [field(label, value) for label, value in fields]},
        section(what),
        context(f"{link} \u00b7 endpoint-relay"),
    ]


def _utc(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch)) if epoch is not None else "-"


def _fields(notice: Notice) -> list[tuple[str, str]]:
    endpoint = notice.endpoint
    since_label = "Was firing since" if notice.kind is NoticeKind.RESOLVED else "Since"
    project = [("Project", code_span(endpoint.project_id, 120))] if endpoint.project_id else []
    return [
        ("Endpoint", f"{clip_mrkdwn(endpoint.display_name or '-', 300)}\n{code_span(endpoint.id, 120)}"),
        *project,
        ("State", clip_mrkdwn(short_state(endpoint.state), 100)),
        ("Model", _identifier(endpoint.model)),
        ("Hardware", _identifier(endpoint.hardware)),
        ("Replicas, actual", _actual_replicas(notice)),
        ("Replicas, expected", _expected_replicas(notice)),
        ("Cost", endpoint_cost(endpoint)),
        (since_label, _slack_date(notice.opened_at)),
    ]


def _identifier(value: str) -> str:
    return code_span(value, 300) if value else "-"


def _actual_replicas(notice: Notice) -> str:
    endpoint = notice.endpoint
    if endpoint.min_replicas is None or endpoint.max_replicas is None:
        return "unknown (autoscaling missing)"
    return f"min {endpoint.min_replicas}, max {endpoint.max_replicas}"


def _expected_replicas(notice: Notice) -> str:
    endpoint = notice.endpoint
    parts = []
    if endpoint.expected_min_replicas is not None:
        parts.append(f"min \u2265 {endpoint.expected_min_replicas}")
    if endpoint.expected_max_replicas is not None:
        parts.append(f"max \u2264 {endpoint.expected_max_replicas}")
    return ", ".join(parts) or "no bounds set"


def _finding_line(finding: Finding) -> str:
    emoji = _SEVERITY_EMOJI.get(finding.severity, ":white_circle:")
    return f"{emoji} *{finding.severity.value}* \u00b7 {clip_mrkdwn(finding.message, 600)}"


def _slack_date(epoch: float) -> str:
    # Slack renders the date in each reader's time zone; the fallback is UTC.
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{fallback}>"


def fallback_text(notices: Sequence[Notice]) -> str:
    """The notification preview; Slack parses it as mrkdwn, so it is escaped like the blocks."""
    titles = [f"{notice.kind.heading[1]}: {notice.endpoint.display_name or notice.endpoint.id}" for notice in notices]
    prefix = "" if len(notices) == 1 else f"{len(notices)} endpoint alerts: "
    return prefix + clip_mrkdwn("; ".join(titles), MAX_FALLBACK_CHARS - len(prefix))


def render_messages(notices: Sequence[Notice], console_url: Callable[[str], str]) -> list[SlackMessage]:
    """Pack notices into as few messages as Slack's 50-block limit allows, dividers between notices."""
    messages: list[SlackMessage] = []
    batch: list[Notice] = []
    blocks: list[Block] = []

    def flush() -> None:
        if blocks:
            payload = {"text": fallback_text(batch), "blocks": list(blocks)}
            messages.append(SlackMessage(tuple(notice.id for notice in batch), payload))
        batch.clear()
        blocks.clear()

    for notice in notices:
        own = notice_blocks(notice, console_url(notice.endpoint.id))
        needed = len(own) + (1 if blocks else 0)
        if blocks and len(blocks) + needed > MAX_BLOCKS:
            flush()
        if len(own) > MAX_BLOCKS:  # never in practice; split rather than be rejected
            for start in range(0, len(own), MAX_BLOCKS):
                flush()
                batch.append(notice)
                blocks.extend(own[start : start + MAX_BLOCKS])
            flush()
            continue
        if blocks:
            blocks.append({"type": "divider"})
        batch.append(notice)
        blocks.extend(own)
    flush()
    return messages
