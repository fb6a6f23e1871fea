"""Block Kit rendering: escaping of upstream strings, Slack's limits, and splitting large batches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.mrkdwn import clip_mrkdwn, clip_plain_text, code_span, escape_mrkdwn, single_line
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.slack_blocks import (
    MAX_BLOCKS,
    MAX_FIELD_CHARS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    notice_blocks,
    render_messages,
)

START = 1_800_000_000.0
HOSTILE_NAME = "<!channel> *bold* _it_ ~gone~ `code` <https://evil.example|click> & co"


def _notice(
    index: int = 0,
    *,
    kind: NoticeKind = NoticeKind.FIRING,
    display_name: str = "Prod chat",
    findings: tuple[Finding, ...] | None = None,
) -> Notice:
    endpoint_id = f"endpoint-{index:04d}-abcd"
    return Notice(
        id=f"{endpoint_id}:{kind.value}:1",
        kind=kind,
        endpoint=EndpointSnapshot(
            endpoint_id, display_name, "org/model", "meta-llama/Llama-3.3-70B", "2x_h100", "ERROR", 0, 2, 1, 4
        ),
        findings=findings
        if findings is not None
        else (
            Finding("state_failed", Severity.CRITICAL, "failure state: expected not ERROR, actual ERROR"),
            Finding("min_replicas_below_expected", Severity.CRITICAL, "expected min_replicas >= 1, actual 0"),
        ),
        opened_at=START,
        created_at=START + 60,
    )


def _console(endpoint_id: str) -> str:
    return f"https://api.together.ai/endpoints/{endpoint_id}"


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def test_mentions_and_formatting_from_upstream_are_inert() -> None:
    escaped = escape_mrkdwn(HOSTILE_NAME)
    assert "<" not in escaped and ">" not in escaped
    assert "&lt;!channel&gt;" in escaped
    assert "&amp; co" in escaped
    for marked in ("*bold*", "_it_", "~gone~", "`code`"):
        assert marked not in escaped
    # The characters are still there for a reader, fenced by zero-width spaces.
    assert escaped.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == HOSTILE_NAME


def test_a_hostile_display_name_cannot_ping_or_format_anywhere_in_the_message() -> None:
    (message,) = render_messages([_notice(display_name=HOSTILE_NAME)], _console)
    payload = json.dumps(message.payload, ensure_ascii=False)
    assert "<!channel>" not in payload
    assert "<https://evil.example" not in payload
    assert "&lt;!channel&gt;" in payload
    header, *blocks = message.payload["blocks"]
    assert header["text"]["type"] == "plain_text"  # formats nothing: the name is shown as it is
    assert all("*bold*" not in text for text in [message.payload["text"], *_texts(blocks)])


def test_newlines_from_upstream_cannot_forge_lines() -> None:
    blocks = notice_blocks(_notice(display_name="ok\n*Severity*\ncritical"), _console("endpoint-0000-abcd"))
    header = blocks[0]["text"]["text"]
    assert "\n" not in header


def test_the_message_carries_what_on_call_needs() -> None:
    (message,) = render_messages([_notice()], _console)
    text = "\n".join(_texts(message.payload))
    for expected in (
        "Firing: Prod chat",
        "`endpoint-0000-abcd`",
        "`meta-llama/Llama-3.3-70B`",
        "`2x_h100`",
        "ERROR",
        "min 0, max 2",  # replicas, actual
        "min \u2265 1, max \u2264 4",  # replicas, expected
        "<!date^1800000000^",  # since when, in each reader's time zone
        "<https://api.together.ai/endpoints/endpoint-0000-abcd|",  # the console link
        "expected `min_replicas` &gt;= 1, actual 0",  # Slack shows "&gt;" as ">"
    ):
        assert expected in text, expected
    assert message.payload["blocks"][0]["type"] == "header"


def test_identifiers_copy_back_exactly() -> None:
    # Given a notice whose hardware, model and findings hold identifiers with underscores
    named = _notice(display_name="prod_chat *live*")
    notice = replace(
        named, endpoint=replace(named.endpoint, hardware="2x_nvidia_h100_80gb_sxm", model="org/llama_3_70b")
    )
    (message,) = render_messages([notice], _console)
    texts = [message.payload["text"], *_texts(message.payload["blocks"])]
    joined = "\n".join(texts)
    # Then each identifier is one code span with nothing invisible inside, in the blocks and in the fallback
    for identifier in ("2x_nvidia_h100_80gb_sxm", "org/llama_3_70b", "min_replicas", "prod_chat", "endpoint-0000-abcd"):
        assert f"`{identifier}`" in joined, identifier
    assert "`prod_chat`" in message.payload["text"]
    for span in re.findall(r"`[^`]*`", joined):
        assert "\u200b" not in span, span
    # And the plain_text header shows the name as it is
    assert message.payload["blocks"][0]["text"]["text"] == "\U0001f534 Firing: prod_chat *live*"


def test_a_backtick_in_an_identifier_cannot_open_or_close_a_code_span() -> None:
    hostile = "x` <!channel> *bold* `y"
    notice = replace(_notice(), endpoint=replace(_notice().endpoint, hardware=hostile, model=hostile))
    (message,) = render_messages([notice], _console)
    fields = {field["text"].split("\n")[0]: field["text"] for field in message.payload["blocks"][1]["fields"]}
    for text in (fields["*Model*"], fields["*Hardware*"]):
        # Then the value is fenced prose, not a code span: every backtick in it is the value's own, made inert
        assert "<!channel>" not in text and "*bold*" not in text
        assert text.count("`") == text.count("\u200b`\u200b") == 2


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_kind_renders(kind: NoticeKind) -> None:
    (message,) = render_messages([_notice(kind=kind)], _console)
    assert message.payload["text"]
    if kind is NoticeKind.RESOLVED:
        assert "Cleared findings" in json.dumps(message.payload)


def test_a_long_display_name_keeps_the_header_within_150_characters() -> None:
    blocks = notice_blocks(_notice(display_name="&" * 1000), _console("endpoint-0000-abcd"))
    header = blocks[0]["text"]["text"]
    assert len(header) <= MAX_HEADER_CHARS
    assert header.endswith("\u2026")
    assert "&amp" in header and not header.rstrip("\u2026").endswith(("&", "&a", "&am", "&amp"))


def test_many_long_findings_are_spread_over_sections_of_at_most_3000_characters() -> None:
    findings = tuple(Finding(f"kind_{i}", Severity.WARNING, "x" * 590) for i in range(30))
    blocks = notice_blocks(_notice(findings=findings), _console("endpoint-0000-abcd"))
    sections = [block["text"]["text"] for block in blocks if block["type"] == "section" and "text" in block]
    assert len(sections) >= 6
    assert all(len(text) <= MAX_SECTION_CHARS for text in sections)
    assert sum(text.count("kind") for text in sections) == 0  # kinds are not shown, messages are
    assert sum(text.count("x" * 590) for text in sections) == 30


def test_a_large_batch_is_split_into_messages_of_at_most_50_blocks() -> None:
    notices = [_notice(index) for index in range(40)]
    messages = render_messages(notices, _console)
    assert len(messages) > 1
    assert all(len(message.payload["blocks"]) <= MAX_BLOCKS for message in messages)
    delivered = [notice_id for message in messages for notice_id in message.notice_ids]
    assert delivered == [notice.id for notice in notices]  # each once, in order
    for message in messages:
        for block in message.payload["blocks"]:
            for field in block.get("fields", []):
                assert len(field["text"]) <= MAX_FIELD_CHARS


def test_a_single_notice_too_big_for_one_message_is_split_not_refused() -> None:
    findings = tuple(Finding(f"kind_{i}", Severity.WARNING, "y" * 590) for i in range(300))
    messages = render_messages([_notice(findings=findings)], _console)
    assert len(messages) > 1
    assert all(len(message.payload["blocks"]) <= MAX_BLOCKS for message in messages)


@settings(max_examples=200, deadline=None)
@given(text=st.text(), limit=st.integers(min_value=1, max_value=300))
def test_clip_never_exceeds_its_limit_or_breaks_an_entity(text: str, limit: int) -> None:
    fitted = clip_mrkdwn(text, limit)
    assert len(fitted) <= limit
    assert "<" not in fitted and ">" not in fitted
    for position, char in enumerate(fitted):
        if char == "&":
            assert fitted[position:].startswith(("&amp;", "&lt;", "&gt;"))


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from("a_1 &<>*`\n\u00e9\U0001f600\ud83d\udc00")), limit=st.integers(1, 300))
def test_escaped_text_is_always_utf_8_even_with_half_a_surrogate_pair(text: str, limit: int) -> None:
    # JSON's "\ud83d" (half an emoji) parses to a lone surrogate, which no UTF-8 body can carry.
    for escaped in (clip_mrkdwn(text, limit), clip_plain_text(text, limit), code_span(text, limit)):
        escaped.encode("utf-8")
    escape_mrkdwn(text).encode("utf-8")
    single_line(text).encode("utf-8")


def test_a_name_holding_half_an_emoji_still_renders_a_message_slack_can_be_sent() -> None:
    notice = replace(
        _notice(display_name="Chat \ud83d support"),
        findings=(Finding("state_failed", Severity.CRITICAL, "state \udc00 ERROR"),),
    )
    (message,) = render_messages([notice], _console)
    body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
    assert "Chat \ufffd support".encode() in body and "state \ufffd ERROR".encode() in body


def test_a_mute_announcement_says_who_which_endpoint_and_until_when_in_utc() -> None:
    notice = Notice.mute_change("endpoint-0001-abcd", START + 7200, actor="slack:T0:U0ONCALL1", now=START)
    (message,) = render_messages([notice], lambda endpoint_id: f"https://console.example/{endpoint_id}")
    text = json.dumps(message.payload)
    assert message.payload["blocks"][0]["text"]["text"].endswith("Muted: endpoint-0001-abcd")
    assert "`endpoint-0001-abcd`" in text and "`slack:T0:U0ONCALL1`" in text
    assert "2027-01-15 10:00 UTC" in text
    unmuted = Notice.mute_change("endpoint-0001-abcd", None, actor="slack:T0:U0ONCALL1", now=START)
    assert "back on" in json.dumps(notice_blocks(unmuted, "https://console.example/x"))
