"""Block Kit replies: ephemeral, escaped, and within Slack's limits."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.together_sim import make_endpoint
from endpoint_relay.core import slack_replies
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.mrkdwn import clip_mrkdwn, escape_mrkdwn
from endpoint_relay.core.slack_replies import (
    MAX_BLOCKS,
    MAX_FIELD_CHARS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
)

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
HOSTILE = "<!channel> *bold* _it_ ~gone~ `code` <https://evil.example|click> &amp; <@U123>"


@dataclass(frozen=True)
class FakeFinding:
    kind: str
    severity: str
    message: str


@dataclass(frozen=True)
class FakeCheck:
    endpoint_id: str
    state: str | None
    findings: tuple[FakeFinding, ...] = ()
    error: str | None = None
    muted: bool = False


@dataclass(frozen=True)
class FakeReport:
    checks: tuple[FakeCheck, ...]
    skipped: tuple[str, ...] = ()
    notifications_sent: int = 0
    duration_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _unescape(text: str, *, spans: bool = False) -> str:
    """What a reader sees: fences dropped, entities decoded and, with ``spans``, code-span backticks dropped."""
    if spans:
        text = text.replace("`", "")
    return text.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _single_line(text: str) -> str:
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)


def _texts(reply: dict[str, Any]) -> list[str]:
    """Every mrkdwn string Slack would parse in this reply, including the fallback."""
    texts = [reply["text"]]
    for block in reply["blocks"]:
        if block["type"] == "section":
            if "text" in block:
                texts.append(block["text"]["text"])
            texts.extend(item["text"] for item in block.get("fields", []))
        elif block["type"] == "context":
            texts.extend(element["text"] for element in block["elements"])
    return texts


def _assert_within_limits(reply: dict[str, Any]) -> None:
    assert reply["response_type"] == "ephemeral"
    assert 1 <= len(reply["blocks"]) <= MAX_BLOCKS
    for block in reply["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
        if block["type"] == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_CHARS
        if block["type"] == "section" and "fields" in block:
            assert len(block["fields"]) <= 10
            assert all(len(item["text"]) <= MAX_FIELD_CHARS for item in block["fields"])
    json.dumps(reply)  # serialisable as is


def _outside_code_spans(text: str) -> str:
    """The parts of mrkdwn that Slack formats (inside a code span nothing is)."""
    return re.sub(r"(?<!\u200b)`[^`]*`", "", text)


def _endpoint(**fields: Any) -> Endpoint:
    return Endpoint.from_dict(make_endpoint(ENDPOINT_ID, **fields))


def test_escaping_defuses_mentions_links_and_formatting() -> None:
    escaped = escape_mrkdwn(HOSTILE)
    for live in ("<!channel>", "<@U123>", "<https://", "*bold*", "_it_", "~gone~", "`code`"):
        assert live not in escaped
    assert "<" not in escaped and ">" not in escaped
    assert "&amp;amp;" in escaped  # an entity in upstream text stays literal text
    assert _unescape(escaped) == HOSTILE


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(st.text(max_size=200))
def test_escaping_round_trips_and_leaves_no_markup(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped and ">" not in escaped and "\n" not in escaped
    assert _unescape(escaped) == _single_line(text)


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(st.text(max_size=300), st.integers(min_value=2, max_value=120))
def test_clipping_never_exceeds_the_limit_or_cuts_an_entity(text: str, limit: int) -> None:
    clipped = clip_mrkdwn(text, limit)
    assert len(clipped) <= limit
    # Code spans are added only to text without backticks of its own, and are never cut open
    kept = _unescape(clipped.removesuffix("…"), spans="`" not in text)
    assert kept == _single_line(text)[: len(kept)]
    if "`" not in text:
        assert clipped.count("`") % 2 == 0


def test_status_reply_escapes_upstream_strings() -> None:
    # Given an endpoint whose display name and model try to ping the channel and format text
    endpoint = _endpoint(display_name=HOSTILE, model="*bold*-model", state="<!here>")
    findings = [FakeFinding("state", "critical", "state is <!here>, expected STARTED")]
    # When the status reply is built
    reply = slack_replies.status_reply(endpoint, findings, age_seconds=3, muted_until=None)
    # Then no text, mrkdwn or plain (the header), contains a live mention or formatting from upstream
    for text in _texts(reply):
        assert "*bold*" not in _outside_code_spans(text)
    assert "<!channel>" not in json.dumps(reply) and "<!here>" not in json.dumps(reply)
    _assert_within_limits(reply)
    assert ENDPOINT_ID in json.dumps(reply)


def test_status_reply_shows_findings_replicas_and_mute() -> None:
    endpoint = _endpoint(state="ERROR", min_replicas=0, max_replicas=4)
    findings = [
        FakeFinding("state", "critical", "state is ERROR"),
        FakeFinding("min_replicas", "warning", "min_replicas is 0, expected at least 1"),
    ]
    reply = slack_replies.status_reply(endpoint, findings, age_seconds=12, muted_until=1_900_000_000)
    text = json.dumps(reply)
    assert ":red_circle:" in text and ":warning:" in text
    assert "0 to 4" in text
    assert "<!date^1900000000^" in text  # rendered in the reader's time zone
    assert "12s old" in text
    _assert_within_limits(reply)


def test_healthy_status_says_so() -> None:
    reply = slack_replies.status_reply(_endpoint(), [], age_seconds=0)
    assert "No findings" in json.dumps(reply)
    _assert_within_limits(reply)


def test_status_reply_with_huge_values_stays_within_limits() -> None:
    endpoint = _endpoint(display_name="<" * 5000, model="&" * 5000, hardware="*" * 5000)
    findings = [FakeFinding(f"kind-{n}", "warning", "x" * 2900) for n in range(200)]
    reply = slack_replies.status_reply(endpoint, findings, age_seconds=1)
    _assert_within_limits(reply)
    assert "more" in reply["blocks"][-2]["text"]["text"]  # what did not fit is counted


def test_check_summary_lists_problems_first_and_counts() -> None:
    report = FakeReport(
        checks=(
            FakeCheck("endpoint-ok", "STARTED"),
            FakeCheck("endpoint-broken", "ERROR", (FakeFinding("state", "critical", "state is ERROR"),)),
            FakeCheck("endpoint-gone", None, error="Together did not answer in time"),
            FakeCheck("endpoint-quiet", "STARTED", muted=True),
        ),
        skipped=("endpoint-late",),
        notifications_sent=1,
    )
    reply = slack_replies.check_summary_reply(report)
    _assert_within_limits(reply)
    body = "\n".join(_texts(reply))
    assert "*4* checked" in body and "*1* with findings" in body and "*1* could not be read" in body
    assert "*1* notification(s) sent" in body and "*1* not reached in time" in body
    assert body.index("endpoint-gone") < body.index("endpoint-broken") < body.index("endpoint-ok")


def test_check_summary_of_hundreds_of_endpoints_stays_within_limits() -> None:
    checks = tuple(
        FakeCheck(f"endpoint-{n:04d}", "<!channel>", (FakeFinding("k", "critical", "*bold* " * 50),))
        for n in range(500)
    )
    reply = slack_replies.check_summary_reply(FakeReport(checks=checks))
    _assert_within_limits(reply)
    assert "more" in reply["blocks"][-1]["text"]["text"]
    for text in _texts(reply):
        assert "<!channel>" not in text and "*bold*" not in text


def test_upstream_ids_in_a_sweep_cannot_break_out_of_code_spans() -> None:
    report = FakeReport(checks=(FakeCheck("endpoint-x` <!channel> `", "STARTED"),))
    for text in _texts(slack_replies.check_summary_reply(report)):
        assert "<!channel>" not in text


@pytest.mark.parametrize(
    "reply",
    [
        slack_replies.help_reply("/together"),
        slack_replies.help_reply("/together", unknown=True),
        slack_replies.argument_error_reply("the duration must look like 30m"),
        slack_replies.team_refused_reply(),
        slack_replies.mute_refused_reply(),
        slack_replies.acknowledgement_reply(f"`{ENDPOINT_ID}`"),
        slack_replies.failure_reply("Together gave no usable answer <!channel>"),
        slack_replies.not_found_reply(ENDPOINT_ID),
        slack_replies.mute_reply(ENDPOINT_ID, 1_900_000_000, 7_200),
        slack_replies.unmute_reply(ENDPOINT_ID),
        slack_replies.check_summary_reply(FakeReport(checks=())),
    ],
    ids=["help", "unknown", "argument", "team", "mute-refused", "ack", "failure", "404", "mute", "unmute", "empty"],
)
def test_every_reply_is_ephemeral_and_within_limits(reply: dict[str, Any]) -> None:
    _assert_within_limits(reply)
    assert "<!channel>" not in json.dumps(reply)


def test_identifiers_in_replies_copy_back_exactly() -> None:
    # Given an endpoint whose hardware and model hold underscores, and a finding naming a field
    endpoint = _endpoint(hardware="2x_nvidia_h100_80gb_sxm", model="org/llama_3_70b", display_name="Prod")
    findings = [FakeFinding("min_replicas_below_expected", "critical", "expected min_replicas >= 1, actual 0")]
    replies = [
        slack_replies.status_reply(endpoint, findings, age_seconds=1),
        slack_replies.acknowledgement_reply(f"`{ENDPOINT_ID}`"),
        slack_replies.help_reply("/together_dev"),
    ]
    text = "\n".join(text for reply in replies for text in _texts(reply))
    # Then identifiers are code spans, and nothing invisible is copied along with them, fallback texts included
    for identifier in ("2x_nvidia_h100_80gb_sxm", "org/llama_3_70b", "min_replicas", ENDPOINT_ID):
        assert f"`{identifier}`" in text, identifier
    assert "`/together_dev status &lt;endpoint-id&gt;`" in text
    assert "\u200b" not in text
    assert replies[1]["text"] == f"Checking `{ENDPOINT_ID}`… the answer follows in a moment."


def test_help_lists_every_command() -> None:
    text = json.dumps(slack_replies.help_reply("/together"))
    for word in ("status", "check", "mute", "unmute", "help"):
        assert f"/together {word}" in text
