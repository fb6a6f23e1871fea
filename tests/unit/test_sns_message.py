"""SNS notifications: the Amazon Q Developer custom-notification schema, the subject, the attributes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.sns_message import MAX_SUBJECT_CHARS, build, subject_line

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
CONSOLE = f"https://api.together.ai/endpoints/{ENDPOINT_ID}"


def _notice(kind: NoticeKind = NoticeKind.FIRING, display_name: str = "Prod chat") -> Notice:
    return Notice(
        id=f"{ENDPOINT_ID}:{kind.value}:1",
        kind=kind,
        endpoint=EndpointSnapshot(
            ENDPOINT_ID, display_name, "org/m", "org/model_v2", "2x_nvidia_h100_80gb_sxm", "ERROR", 0, 2, 1, None
        ),
        findings=(
            Finding("state_failed", Severity.CRITICAL, "failure: expected not ERROR, actual ERROR"),
            Finding("autoscaling_missing", Severity.WARNING, "expected min_replicas >= 1, actual 0"),
        ),
        opened_at=1_800_000_000.0,
        created_at=1_800_000_060.0,
    )


def test_the_message_is_an_amazon_q_custom_notification() -> None:
    document = json.loads(build(_notice(), CONSOLE).message)
    assert document["version"] == "1.0"
    assert document["source"] == "custom"
    assert document["id"] == f"{ENDPOINT_ID}:firing:1"
    content = document["content"]
    assert content["textType"] == "client-markdown"
    assert "Firing: Prod chat" in content["title"]
    assert ENDPOINT_ID in content["description"]
    assert "actual ERROR" in content["description"]
    assert all(isinstance(step, str) for step in content["nextSteps"]) and CONSOLE in content["nextSteps"][0]
    assert all(isinstance(keyword, str) for keyword in content["keywords"])
    metadata = document["metadata"]
    assert metadata["threadId"] == ENDPOINT_ID
    assert metadata["summary"] and metadata["eventType"] == "EndpointAlertFiring"
    assert metadata["relatedResources"] == [ENDPOINT_ID, CONSOLE]
    assert all(isinstance(value, str) for value in metadata["additionalContext"].values())


@pytest.mark.parametrize(
    ("kind", "status"),
    [(NoticeKind.FIRING, "firing"), (NoticeKind.REMINDER, "firing"), (NoticeKind.RESOLVED, "resolved")],
)
def test_message_attributes_support_filter_policies(kind: NoticeKind, status: str) -> None:
    message = build(_notice(kind), CONSOLE)
    assert message.attributes == {
        "severity": "critical",
        "endpoint_id": ENDPOINT_ID,
        "kind": ("state_failed", "autoscaling_missing"),  # every kind, so a filter on any of them matches
        "status": status,
    }


def test_a_hostile_display_name_is_escaped_in_the_markdown() -> None:
    document = json.loads(build(_notice(display_name="<!channel> *bold*"), CONSOLE).message)
    assert "<!channel>" not in json.dumps(document, ensure_ascii=False)
    assert "&lt;!channel&gt;" in document["content"]["title"]


def test_the_subject_names_severity_and_endpoint() -> None:
    subject = build(_notice(), CONSOLE).subject
    assert subject.startswith("[CRITICAL] Firing: Prod chat (")


@pytest.mark.parametrize(
    "display_name",
    ["Caf\u00e9 \u2615 \u6771\u4eac", "line one\r\nline two\tand\x00more", "x" * 500, "\U0001f525" * 50, ""],
    ids=["unicode", "control-characters", "long", "emoji-only", "empty"],
)
def test_the_subject_is_one_printable_line_under_100_characters(display_name: str) -> None:
    subject = build(_notice(display_name=display_name), CONSOLE).subject
    assert subject.isprintable()
    assert "\n" not in subject and "\r" not in subject
    assert 0 < _utf16_units(subject) <= MAX_SUBJECT_CHARS < 100


def test_a_non_latin_endpoint_name_is_kept_in_the_subject_and_the_message() -> None:
    # Given an endpoint named in Japanese and Russian (SNS subjects are UTF-8 text)
    name = "\u63a8\u8ad6\u30b5\u30fc\u30d3\u30b9 \u041c\u043e\u0434\u0435\u043b\u044c"
    message = build(_notice(display_name=name), CONSOLE)
    # Then the name is in the subject, the title and the description, not dropped or folded away
    assert message.subject == f"[CRITICAL] Firing: {name} ({ENDPOINT_ID})"
    document = json.loads(message.message)
    assert name in document["content"]["title"]
    assert name in document["content"]["description"]


def test_the_description_escapes_every_angle_bracket_and_compares_with_symbols() -> None:
    # Given a notice with expected bounds and a finding whose message compares with >=
    document = json.loads(build(_notice(), CONSOLE).message)
    description = document["content"]["description"]
    # Then no raw < or > is left for the chat platform to guess about: upstream text is entity-escaped,
    # our own comparisons are written as symbols
    assert "<" not in description and ">" not in description
    assert "min \u2265 1" in description
    assert "`min_replicas` &gt;= 1" in description


def test_identifiers_in_the_description_are_code_spans_without_fences() -> None:
    document = json.loads(build(_notice(), CONSOLE).message)
    description = document["content"]["description"]
    assert "`2x_nvidia_h100_80gb_sxm`" in description
    assert f"`{ENDPOINT_ID}`" in description
    assert "`org/model_v2`" in description
    assert "\u200b" not in json.dumps(document, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_becomes_a_valid_subject(text: str) -> None:
    subject = subject_line(text)
    assert subject.isprintable()
    assert 0 < _utf16_units(subject) <= MAX_SUBJECT_CHARS
    assert subject == subject.strip()


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_name_holding_half_an_emoji_still_makes_a_notification_sns_can_take() -> None:
    # JSON's "\ud83d" (half an emoji) parses to a lone surrogate; botocore must encode the message as UTF-8.
    message = build(_notice(display_name="Chat \ud83d support"), CONSOLE)
    message.message.encode("utf-8")
    message.subject.encode("utf-8")
    assert "Chat \ufffd support" in json.loads(message.message)["content"]["title"]


def test_a_mute_announcement_is_a_custom_notification_naming_who_and_until_when() -> None:
    notice = Notice.mute_change("endpoint-0001-abcd", 1_800_007_200.0, actor="slack:T0:U0ONCALL1", now=1_800_000_000.0)
    message = build(notice, "https://console.example/endpoint-0001-abcd")
    document = json.loads(message.message)
    assert document["metadata"]["eventType"] == "EndpointAlertMuted"
    description = document["content"]["description"]
    assert "`endpoint-0001-abcd`" in description and "`slack:T0:U0ONCALL1`" in description
    assert "2027-01-15 10:00 UTC" in description
    assert message.attributes["status"] == "muted" and message.attributes["kind"] == ("mute",)
    assert "/together unmute endpoint-0001-abcd" in document["content"]["nextSteps"][0]
