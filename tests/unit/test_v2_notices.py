"""v2 notices: what they freeze of the deployments and the events, how they are stored, and how they render."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core import sns_message
from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind, fingerprint
from endpoint_relay.core.policy import Expectations, Finding, Severity
from endpoint_relay.core.policy_v2 import evaluate_v2
from endpoint_relay.core.slack_blocks import notice_blocks, render_messages
from endpoint_relay.core.v2_models import Event
from endpoint_relay.core.v2_notice import ReasonLine, reason_lines
from tests.fakes import T0
from tests.unit.block_kit_limits import assert_within_block_kit_limits
from tests.unit.v2_builders import DEGRADED, EP2, FAILED, PROJECT, deployment, endpoint

HOSTILE = "<!channel> *bold* `tick` <https://evil.example|click> & co\nforged line"
CONSOLE = "https://api.together.ai/endpoints/ep"


def _notice(snapshot: EndpointSnapshot, findings: tuple[Finding, ...], kind: NoticeKind = NoticeKind.FIRING) -> Notice:
    return Notice(f"{snapshot.key}:{kind.value}:1", kind, snapshot, findings, opened_at=T0, created_at=T0)


def _failing() -> Notice:
    subject = endpoint(
        deployment("dep_a", state=FAILED, ready=0),
        deployment("dep_b", ready=1, low=2),
        split={"dep_a": 70, "dep_b": 30},
    )
    findings = evaluate_v2(subject, None, Expectations(), state_since=T0, now=T0)
    snapshot = EndpointSnapshot.of_v2(subject, PROJECT, None, Expectations(), findings)
    reason = (ReasonLine("LEVEL_ERROR", "CUDA out of memory on replica 0", "2023-11-14T22:10:00Z", "dep_a"),)
    return _notice(replace(snapshot, reason=reason), findings)


def test_a_v2_snapshot_names_the_project_the_primary_and_the_deployments_concerned_first() -> None:
    notice = _failing()
    snapshot = notice.endpoint
    assert (snapshot.id, snapshot.project_id, snapshot.display_name) == (EP2, PROJECT, "support-chat")
    assert snapshot.key == notice.endpoint_id == f"{PROJECT}/{EP2}"
    assert snapshot.state == FAILED  # the primary: the live one with the highest weight
    assert [d.id for d in snapshot.deployments] == ["dep_a", "dep_b"]
    assert snapshot.deployments[0].weight == 70.0 and snapshot.deployments[1].ready_replicas == 1


def test_a_v2_notice_round_trips_through_its_stored_json() -> None:
    notice = _failing()
    assert Notice.from_json(notice.to_json()) == notice


def test_a_notice_stored_before_v2_is_still_readable() -> None:
    # Given the JSON a v1 notice was stored as, without project, deployments, reason or finding subjects
    old = (
        '{"id":"endpoint-abc:firing:1","kind":"firing","endpoint":{"id":"endpoint-abc","display_name":"Prod",'
        '"name":"org/m","model":"m","hardware":"h100","state":"ERROR","min_replicas":1,"max_replicas":2,'
        '"expected_min_replicas":1,"expected_max_replicas":null},"findings":[{"kind":"state_failed",'
        '"severity":"critical","message":"failed","expected":"not ERROR","actual":"ERROR"}],'
        '"opened_at":1.0,"created_at":2.0,"actor":null,"muted_until":null}'
    )
    notice = Notice.from_json(old)
    assert notice.endpoint_id == "endpoint-abc" and notice.endpoint.project_id is None
    assert notice.endpoint.deployments == () and notice.endpoint.reason == ()
    assert notice.findings[0].subject is None


def test_v1_fingerprints_are_unchanged_and_v2_ones_tell_deployments_apart() -> None:
    finding = Finding("state_failed", Severity.CRITICAL, "m", "not ERROR", "ERROR")
    # The value v1 stored before deployments existed, by the formula of that time
    before = hashlib.sha256(json.dumps([["state_failed", "critical", "not ERROR", "ERROR"]]).encode()).hexdigest()
    assert fingerprint([finding]) == before[:20]
    assert fingerprint([replace(finding, subject="dep_a")]) != fingerprint([replace(finding, subject="dep_b")])


def test_a_mute_of_a_v2_key_is_announced_for_that_endpoint() -> None:
    notice = Notice.mute_change(f"{PROJECT}/{EP2}", T0 + 3600, actor="U1", now=T0)
    assert notice.endpoint.id == EP2 and notice.endpoint.project_id == PROJECT
    assert notice.endpoint_id == f"{PROJECT}/{EP2}"


def test_the_slack_notice_names_deployments_replicas_hardware_reason_and_console_link() -> None:
    notice = _failing()
    [message] = render_messages([notice], lambda endpoint_id: f"https://console.example/{endpoint_id}")
    text = json.dumps(message.payload)
    for expected in (
        "`dep_a`",
        "`acme/chat/dep_a`",  # the name, an identifier-like word, in a code span
        "FAILED",
        "ready 1/2",
        "min\\u2013max 2\\u20134",
        "`2x_nvidia_h100_80gb_sxm`",
        "weight 70",
        "CUDA out of memory on replica 0",
        "2023-11-14T22:10:00Z",
        f"`{PROJECT}`",
        f"https://console.example/{EP2}",
    ):
        assert expected in text, expected
    assert_within_block_kit_limits(message.payload["blocks"])


def test_hostile_event_text_and_ten_long_deployments_stay_inert_and_within_block_kit_limits() -> None:
    docs = [
        deployment(f"dep_{index:02d}_" + "x" * 50, state=DEGRADED, name=HOSTILE * 20, hardware="h" * 300)
        for index in range(10)
    ]
    subject = endpoint(*docs, split={doc["id"]: 10.0 for doc in docs}, name=HOSTILE * 10)
    findings = evaluate_v2(subject, None, Expectations(), state_since=T0, now=T0)
    reasons = tuple(ReasonLine("LEVEL_ERROR", HOSTILE * 30, HOSTILE, None) for _ in range(3))
    snapshot = replace(EndpointSnapshot.of_v2(subject, PROJECT, None, Expectations(), findings), reason=reasons)
    blocks = notice_blocks(_notice(snapshot, findings), CONSOLE)
    assert_within_block_kit_limits(blocks)
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "<https://evil" not in text and "\\nforged line" not in text
    assert len(snapshot.deployments) == 10


def test_the_sns_notice_carries_the_same_facts_in_the_amazon_q_schema() -> None:
    notice = _failing()
    message = sns_message.build(notice, CONSOLE)
    document = json.loads(message.message)
    description = document["content"]["description"]
    for expected in ("`dep_a`", "FAILED", "ready 1/2", "`2x_nvidia_h100_80gb_sxm`", "CUDA out of memory", PROJECT):
        assert expected in description, expected
    assert document["metadata"]["threadId"] == f"{PROJECT}/{EP2}"
    assert message.attributes["endpoint_id"] == f"{PROJECT}/{EP2}"
    assert CONSOLE in document["content"]["nextSteps"][0]


def _event(index: int, level: str, deployment_id: str | None = "dep_a") -> Event:
    return Event.from_dict(
        {"id": f"ev_{index}", "level": level, "message": f"m{index}", "createdAt": "t", "deploymentId": deployment_id}
    )


def test_reason_lines_keep_the_newest_warn_and_error_events_of_the_firing_deployments() -> None:
    events = [
        _event(1, "LEVEL_INFO"),
        _event(2, "LEVEL_ERROR"),
        _event(3, "LEVEL_WARN", "dep_other"),
        _event(4, "LEVEL_WARN", None),
        _event(5, "LEVEL_WARN"),
        _event(6, "LEVEL_ERROR"),
    ]
    assert [line.message for line in reason_lines(events, {"dep_a"})] == ["m2", "m4", "m5"]
    # Without deployments to narrow to (an endpoint-wide finding), every deployment's events count
    assert [line.message for line in reason_lines(events, set(), limit=5)] == ["m2", "m3", "m4", "m5", "m6"]


@settings(derandomize=True, database=None, max_examples=100)
@given(levels=st.lists(st.sampled_from(["LEVEL_DEBUG", "LEVEL_INFO", "LEVEL_WARN", "LEVEL_ERROR", "LEVEL_X"])))
def test_reason_lines_never_quote_below_warn(levels: list[str]) -> None:
    lines = reason_lines([_event(index, level) for index, level in enumerate(levels)], set(), limit=100)
    assert all(line.level in ("LEVEL_WARN", "LEVEL_ERROR") for line in lines)
    assert len(lines) == sum(level in ("LEVEL_WARN", "LEVEL_ERROR") for level in levels)
