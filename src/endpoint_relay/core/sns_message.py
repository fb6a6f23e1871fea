"""SNS notifications in the Amazon Q Developer in chat applications custom-notification schema.

A topic wired to Slack or Microsoft Teams through Amazon Q Developer renders
these natively; ``metadata.threadId`` (the endpoint id) keeps one endpoint's
notices in one thread. Message attributes let subscriptions filter by
``severity``, ``endpoint_id``, ``kind`` and ``status``.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from endpoint_relay.core.alerting import Notice, NoticeKind
from endpoint_relay.core.mrkdwn import clip_mrkdwn, single_line

MAX_SUBJECT_CHARS = 100
_MAX_TITLE_CHARS = 250
_MAX_DESCRIPTION_CHARS = 3500
_MAX_SUMMARY_CHARS = 250
_SUBJECT_SAFE = re.compile(r"[^\x20-\x7e]")
_SPACES = re.compile(r"\s+")

_TITLES = {
    NoticeKind.FIRING: (":red_circle:", "Firing"),
    NoticeKind.CHANGED: (":large_orange_circle:", "Changed"),
    NoticeKind.REMINDER: (":repeat:", "Still firing"),
    NoticeKind.RESOLVED: (":white_check_mark:", "Resolved"),
}


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    message: str
    """The JSON document, as text."""
    attributes: dict[str, str]
    """String message attributes for subscription filter policies."""


def build(notice: Notice, console_url: str) -> SnsMessage:
    status = "resolved" if notice.kind is NoticeKind.RESOLVED else "firing"
    severity = notice.severity.value if notice.severity else "info"
    document = {
        "version": "1.0",
        "source": "custom",
        "id": notice.id,
        "content": {
            "textType": "client-markdown",
            "title": _title(notice),
            "description": _description(notice),
            "nextSteps": _next_steps(notice, console_url),
            "keywords": ["endpoint-relay", severity, status, *sorted({f.kind for f in notice.findings})][:10],
        },
        "metadata": {
            "threadId": notice.endpoint_id,
            "summary": clip_mrkdwn(
                f"{_TITLES[notice.kind][1]}: {_name(notice)} ({notice.endpoint_id})", _MAX_SUMMARY_CHARS
            ),
            "eventType": f"EndpointAlert{notice.kind.value.title()}",
            "relatedResources": [notice.endpoint_id, console_url],
            "additionalContext": _context(notice, status, severity),
        },
    }
    return SnsMessage(
        subject=ascii_subject(
            f"[{severity.upper()}] {_TITLES[notice.kind][1]}: {_name(notice)} ({notice.endpoint_id})"
        ),
        message=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        attributes={
            "severity": severity,
            "endpoint_id": notice.endpoint_id,
            "kind": notice.primary_kind,
            "status": status,
        },
    )


def ascii_subject(text: str) -> str:
    """An SNS subject: printable ASCII only, no line breaks, at most 100 characters."""
    folded = unicodedata.normalize("NFKD", text)  # "é" -> "e" + combining accent, then dropped below
    ascii_only = _SUBJECT_SAFE.sub(" ", folded.encode("ascii", "ignore").decode("ascii"))
    subject = _SPACES.sub(" ", ascii_only).strip() or "endpoint-relay notification"
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 3].rstrip() + "..."
    return subject


def _name(notice: Notice) -> str:
    return single_line(notice.endpoint.display_name or notice.endpoint.id)


def _title(notice: Notice) -> str:
    emoji, title = _TITLES[notice.kind]
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
            f"min >= {endpoint.expected_min_replicas}" if endpoint.expected_min_replicas is not None else "",
            f"max <= {endpoint.expected_max_replicas}" if endpoint.expected_max_replicas is not None else "",
        )
        if part
    )
    heading = "*Cleared findings*" if notice.kind is NoticeKind.RESOLVED else "*Findings*"
    lines = [
        f"*Endpoint:* {clip_mrkdwn(endpoint.display_name or '-', 300)} ({clip_mrkdwn(endpoint.id, 120)})",
        f"*Model:* {clip_mrkdwn(endpoint.model or '-', 300)}"
        f" \u00b7 *Hardware:* {clip_mrkdwn(endpoint.hardware or '-', 300)}",
        f"*State:* {clip_mrkdwn(endpoint.state, 100)}",
        f"*Replicas:* actual {actual}; expected {expected or 'no bounds set'}",
        f"*{'Was firing since' if notice.kind is NoticeKind.RESOLVED else 'Since'}:* {since}",
        heading,
        *(f"\u2022 *{f.severity.value}* {clip_mrkdwn(f.message, 600)}" for f in notice.findings),
    ]
    text = "\n".join(lines)
    return text if len(text) <= _MAX_DESCRIPTION_CHARS else text[: _MAX_DESCRIPTION_CHARS - 1] + "\u2026"


def _next_steps(notice: Notice, console_url: str) -> list[str]:
    if notice.kind is NoticeKind.RESOLVED:
        return [f"Nothing to do; review the endpoint if needed: {console_url}"]
    return [
        f"Open the endpoint in the Together console: {console_url}",
        f"During planned work, silence it: /together mute {notice.endpoint_id} 2h",
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
    }
