"""SNS notifications: the Amazon Q Developer custom-notification schema, the subject, the attributes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.sns_message import MAX_SUBJECT_CHARS, ascii_subject, build

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
CONSOLE = f"https://api.together.ai/endpoints/{ENDPOINT_ID}"


def _notice(kind: NoticeKind = NoticeKind.FIRING, display_name: str = "Prod chat") -> Notice:
    return Notice(
        id=f"{ENDPOINT_ID}:{kind.value}:1",
        kind=kind,
        endpoint=EndpointSnapshot(ENDPOINT_ID, display_name, "org/m", "model-x", "h100", "ERROR", 0, 2, 1, None),
        findings=(
            Finding("state_failed", Severity.CRITICAL, "failure: expected not ERROR, actual ERROR"),
            Finding("autoscaling_missing", Severity.WARNING, "missing"),
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
        "kind": "state_failed",
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
def test_the_subject_is_ascii_single_line_and_at_most_100_characters(display_name: str) -> None:
    subject = build(_notice(display_name=display_name), CONSOLE).subject
    assert subject.isascii() and subject.isprintable()
    assert "\n" not in subject and "\r" not in subject
    assert 0 < len(subject) <= MAX_SUBJECT_CHARS


def test_accents_are_folded_rather_than_dropped() -> None:
    assert ascii_subject("Caf\u00e9 na\u00efve") == "Cafe naive"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_becomes_a_valid_subject(text: str) -> None:
    subject = ascii_subject(text)
    assert subject.isascii() and subject.isprintable()
    assert 0 < len(subject) <= MAX_SUBJECT_CHARS
    assert subject == subject.strip()
