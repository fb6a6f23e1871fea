"""SNS notifications in the Amazon Q Developer in chat applications custom-notification schema.

A topic wired to Slack or Microsoft Teams through Amazon Q Developer renders
these natively; ``metadata.threadId`` (the endpoint id) keeps one endpoint's
notices in one thread. Message attributes let subscriptions filter by
``severity``, ``endpoint_id``, ``kind`` (every finding kind of the notice, a
String.Array: a filter on any one of them matches) and ``status``.

Amazon Q renders ``client-markdown`` text in the chat platform's own markdown,
Slack's mrkdwn for a Slack channel, so the text is escaped as the Slack blocks are
(core.mrkdwn): every ``&``, ``<`` and ``>`` is an entity, identifiers are code
spans. Our own text spells comparisons as ``≥`` and ``≤``, which read the same
on every platform and need no entity.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from endpoint_relay.core.alerting import Notice, NoticeKind
from endpoint_relay.core.mrkdwn import clip_mrkdwn, code_span, single_line
from endpoint_relay.core.notice_cost import endpoint_cost
from endpoint_relay.core.v2_mrkdwn import deployment_line, reason_text, short_state

MAX_SUBJECT_CHARS = 99
"""SNS: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long"."""
_MAX_TITLE_CHARS = 250
MAX_DESCRIPTION_CHARS = 3500
_MAX_SUMMARY_CHARS = 250
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    message: str
    """The JSON document, as text."""
    attributes: dict[str, str | tuple[str, ...]]
    """Message attributes for subscription filter policies: a String, or a String.Array for a tuple."""


def build(notice: Notice, console_url: str) -> SnsMessage:
    status = _status(notice.kind)
    severity = notice.severity.value if notice.severity else "info"
    document = {
        "version": "1.0",
        "source": "custom",
        "id": notice.id,
        "content": {
            "textType": "client-markdown",
            "title": _title(notice),
            "description": _announcement(notice) if notice.kind.is_announcement else _description(notice),
            "nextSteps": _next_steps(notice, console_url),
            "keywords": ["endpoint-relay", severity, status, *sorted({f.kind for f in notice.findings})][:10],
        },
        "metadata": {
            "threadId": notice.endpoint_id,
            "summary": clip_mrkdwn(
                f"{notice.kind.heading[1]}: {_name(notice)} ({notice.endpoint_id})", _MAX_SUMMARY_CHARS
            ),
            "eventType": f"EndpointAlert{notice.kind.value.title()}",
            "relatedResources": [notice.endpoint_id, console_url],
            "additionalContext": _context(notice, status, severity),
        },
    }
    return SnsMessage(
        subject=subject_line(f"[{severity.upper()}] {notice.kind.heading[1]}: {_name(notice)} ({notice.endpoint_id})"),
        message=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        attributes={
            "severity": severity,
            "endpoint_id": notice.endpoint_id,
            "kind": _finding_kinds(notice),
            "status": status,
        },
    )


def _status(kind: NoticeKind) -> str:
    if kind.is_announcement:
        return kind.value  # "muted" or "unmuted"
    return "resolved" if kind is NoticeKind.RESOLVED else "firing"


def _finding_kinds(notice: Notice) -> tuple[str, ...]:
    if notice.kind.is_announcement:
        return ("mute",)
    return tuple(dict.fromkeys(finding.kind for finding in notice.findings)) or (notice.primary_kind,)


def subject_line(text: str) -> str:
    """An SNS subject: UTF-8 on one line, without control characters, under 100 characters.

    Characters are counted as UTF-16 code units (how a Java service counts them),
    so a subject full of emoji is not refused either.
    """
    printable = "".join(char if char.isprintable() else " " for char in text)
    subject = _SPACES.sub(" ", printable).strip() or "endpoint-relay notification"
    if _utf16_length(subject) <= MAX_SUBJECT_CHARS:
        return subject
    kept = ""
    for char in subject:
        if _utf16_length(kept + char) > MAX_SUBJECT_CHARS - 1:
            break
        kept += char
    return kept.rstrip() + "\u2026"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _name(notice: Notice) -> str:
    return single_line(notice.endpoint.display_name or notice.endpoint.id)


def _title(notice: Notice) -> str:
    emoji, title = notice.kind.heading
    prefix = f"{emoji} {title}: "
    return prefix + clip_mrkdwn(_name(notice), _MAX_TITLE_CHARS - len(prefix))


def _description(notice: Notice) -> str:
    endpoint = notice.endpoint
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(notice.opened_at))
    actual = (
        f"min {endpoint.min_replicas}, max {endpoint.max_replicas}"
        if endpoint.min_replicas is not None and endpoint.max_replicas is not None
        else "unknown (autoscaling missing)"
    )
    expected = ", ".join(
        part
        for part in (
            f"min \u2265 {endpoint.expected_min_replicas}" if endpoint.expected_min_replicas is not None else "",
            f"max \u2264 {endpoint.expected_max_replicas}" if endpoint.expected_max_replicas is not None else "",
        )
        if part
    )
    heading = "*Cleared findings*" if notice.kind is NoticeKind.RESOLVED else "*Findings*"
    lines = [
        f"*Endpoint:* {clip_mrkdwn(endpoint.display_name or '-', 300)} ({code_span(endpoint.id, 120)})",
        *([f"*Project:* {code_span(endpoint.project_id, 120)}"] if endpoint.project_id else []),
        f"*Model:* {_identifier(endpoint.model)} \u00b7 *Hardware:* {_identifier(endpoint.hardware)}",
        f"*State:* {clip_mrkdwn(short_state(endpoint.state), 100)}",
        f"*Replicas:* actual {actual}; expected {expected or 'no bounds set'}",
        f"*Cost:* {endpoint_cost(endpoint)}",
        f"*{'Was firing since' if notice.kind is NoticeKind.RESOLVED else 'Since'}:* {since}",
        heading,
        *(f"\u2022 *{f.severity.value}* {clip_mrkdwn(f.message, 600)}" for f in notice.findings),
        *(["*Why (the endpoint's events)*"] if endpoint.reason else []),
        *(f"\u2022 {reason_text(reason)}" for reason in endpoint.reason),
        *(["*Deployments*"] if endpoint.deployments else []),
        *(f"\u2022 {deployment_line(d)}" for d in endpoint.deployments),
    ]
    return whole_lines(lines)


def whole_lines(lines: Sequence[str]) -> str:
    """Lines joined within :data:`MAX_DESCRIPTION_CHARS`, then an ellipsis if some are left out.

    Whole lines only, so no entity or code span is cut in half.
    """
    kept: list[str] = []
    for line in lines:
        if sum(len(each) + 1 for each in kept) + len(line) + 2 > MAX_DESCRIPTION_CHARS:
            return "\n".join([*kept, "\u2026"])
        kept.append(line)
    return "\n".join(kept)


def _announcement(notice: Notice) -> str:
    lines = [
        f"*Endpoint:* {code_span(notice.endpoint.id, 120)}",
        f"*By:* {_identifier(notice.actor or '')}",
    ]
    if notice.kind is NoticeKind.MUTED and notice.muted_until is not None:
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(notice.muted_until))
        lines += [f"*Until:* {until}", "No alerts for this endpoint until then."]
    else:
        lines.append("Alerts for this endpoint are back on.")
    return "\n".join(lines)


def _identifier(value: str) -> str:
    return code_span(value, 300) if value else "-"


def _next_steps(notice: Notice, console_url: str) -> list[str]:
    if notice.kind is NoticeKind.MUTED:
        return [f"To hear about it again before then: {code_span(f'/together unmute {notice.endpoint_id}')}"]
    if notice.kind is NoticeKind.RESOLVED or notice.kind.is_announcement:
        return [f"Nothing to do; review the endpoint if needed: {console_url}"]
    return [
        f"Open the endpoint in the Together console: {console_url}",
        f"During planned work, silence it: {code_span(f'/together mute {notice.endpoint_id} 2h')}",
    ]


def _context(notice: Notice, status: str, severity: str) -> dict[str, Any]:
    endpoint = notice.endpoint
    return {
        "endpoint_id": endpoint.id,
        "state": single_line(endpoint.state)[:100],
        "status": status,
        "severity": severity,
        "notice": notice.kind.value,
        "finding_kinds": ",".join(f.kind for f in notice.findings),
        "opened_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(notice.opened_at)),
        **_mute_context(notice),
    }


def _mute_context(notice: Notice) -> dict[str, str]:
    if not notice.kind.is_announcement:
        return {}
    context = {"actor": single_line(notice.actor or "")[:200]}
    if notice.muted_until is not None:
        context["muted_until"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(notice.muted_until))
    return context
