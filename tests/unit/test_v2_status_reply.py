"""`/together status ep_…`: the endpoint and one line per deployment, escaped and within Block Kit's limits."""

from __future__ import annotations

import json

from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.slack_replies import v2_status_reply
from tests.fakes import T0
from tests.unit.block_kit_limits import assert_within_block_kit_limits
from tests.unit.v2_builders import DEGRADED, EP2, PROJECT, STOPPED, deployment, endpoint

HOSTILE = "<!here> *loud* <https://evil.example|x> & "


def test_one_line_per_deployment_with_state_replicas_bounds_weight_and_hardware() -> None:
    subject = endpoint(
        deployment("dep_a", ready=2, low=2, high=4),
        deployment("dep_b", state=DEGRADED, ready=1, low=2, high=3, hardware="1x_nvidia_a100"),
        deployment("dep_c", state=STOPPED, ready=0, low=0, high=0),
        split={"dep_a": 80, "dep_b": 20},
    )
    reply = v2_status_reply(subject, None, [], age_seconds=3)
    text = json.dumps(reply)
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"] == "acme-research/support-chat: READY"
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section" and "text" in b]
    lines = sections[0].split("\n")
    assert lines[0] == "*Deployments*"
    assert "`dep_a` · READY · ready 2/2 · min\u2013max 2\u20134 · `2x_nvidia_h100_80gb_sxm` · weight 80" in lines[1]
    assert "`dep_b` · DEGRADED · ready 1/2 · min\u2013max 2\u20133 · `1x_nvidia_a100` · weight 20" in lines[2]
    assert "`dep_c` · STOPPED · ready 0/0 · min\u2013max 0\u20130" in lines[3] and "no live traffic" in lines[3]
    assert f"`{EP2}`" in text and f"`{PROJECT}`" in text
    assert "No findings" in text


def test_findings_and_a_mute_are_shown() -> None:
    finding = Finding("state_degraded", Severity.WARNING, "Deployment dep_b is degraded", subject="dep_b")
    reply = v2_status_reply(endpoint(deployment()), None, [finding], age_seconds=0, muted_until=T0)
    text = json.dumps(reply)
    assert "is degraded" in text and "muted until" in text
    assert "1 finding(s)" in reply["text"]


def test_ten_long_hostile_deployments_stay_inert_and_within_block_kit_limits() -> None:
    docs = [
        deployment(
            f"dep_{index:02d}" + "x" * 55,
            name=HOSTILE * 40,
            hardware="hw_" + "y" * 400,
            state="DEPLOYMENT_STATE_" + "Z" * 300,
        )
        for index in range(10)
    ]
    subject = endpoint(*docs, split={doc["id"]: 10 for doc in docs}, name=HOSTILE * 30)
    findings = [Finding("state_unknown", Severity.WARNING, HOSTILE * 100, subject=doc["id"]) for doc in docs]
    reply = v2_status_reply(subject, None, findings, age_seconds=1)
    assert_within_block_kit_limits(reply["blocks"])
    text = json.dumps(reply)
    assert "<!here>" not in text and "<https://evil" not in text
    # Every deployment is listed, none dropped
    for doc in docs:
        assert doc["id"][:20] in text


def test_an_endpoint_without_deployments() -> None:
    reply = v2_status_reply(endpoint(split={}), None, [], age_seconds=0)
    assert "no deployments" in reply["blocks"][0]["text"]["text"]
    assert "No deployments" in json.dumps(reply)
