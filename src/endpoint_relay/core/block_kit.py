"""The Block Kit blocks Slack messages here are built from, within Slack's size limits.

Text handed in is mrkdwn already escaped by the caller (core.mrkdwn), except a header's,
which is plain text and escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from endpoint_relay.core.mrkdwn import clip_plain_text

Block = dict[str, Any]

MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
MAX_FIELD_CHARS = 2000


def header(text: str) -> Block:
    # plain_text is not parsed for mentions or formatting; entities are escaped anyway, as Slack asks for all text.
    return {"type": "header", "text": {"type": "plain_text", "text": clip_plain_text(text, MAX_HEADER_CHARS)}}


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def field(label: str, value: str) -> Block:
    """One field of a section's ``fields``: a bold label over its value."""
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}"[:MAX_FIELD_CHARS]}


def sections(lines: Sequence[str]) -> list[Block]:
    """Every line, packed into as few sections as fit (a line longer than a section is cut to fit)."""
    packed: list[Block] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_SECTION_CHARS and current:
            packed.append(section(current))
            candidate = line
        current = candidate[:MAX_SECTION_CHARS]
    if current:
        packed.append(section(current))
    return packed


def packed_sections(lines: Sequence[str], max_sections: int) -> list[Block]:
    """Lines joined into at most ``max_sections`` sections; what does not fit is counted, not dropped silently."""
    packed: list[tuple[str, int]] = []  # (text, how many lines it holds)
    for raw_line in lines:
        line = _clip(raw_line, MAX_SECTION_CHARS)
        if packed and len(packed[-1][0]) + 1 + len(line) <= MAX_SECTION_CHARS:
            text, count = packed[-1]
            packed[-1] = (f"{text}\n{line}", count + 1)
        else:
            packed.append((line, 1))
    if len(packed) > max_sections:
        left_out = sum(count for _, count in packed[max_sections - 1 :])
        packed = [*packed[: max_sections - 1], (f"…and {left_out} more", left_out)]
    return [section(text) for text, _ in packed]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
