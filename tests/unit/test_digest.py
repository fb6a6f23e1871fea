"""The daily digest: what it picks from the fleet and the open alerts, and how Slack and SNS render it."""

from __future__ import annotations

import json

import pytest

from endpoint_relay.core.cost import Spend
from endpoint_relay.core.digest import MAX_FIRING_LINES, MAX_IDLE_LINES, Digest, OpenAlert, is_digest_date
from endpoint_relay.core.digest_render import slack_payload, sns_message
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.sns_message import MAX_SUBJECT_CHARS
from tests.unit.block_kit_limits import assert_within_block_kit_limits

DATE = "2026-12-07"
PROJECT = "proj_demo"


def _line(
    n: int, cents: int | None, replicas: int = 1, findings: tuple[str, ...] = (), name: str | None = None
) -> FleetLine:
    return FleetLine(
        key=f"{PROJECT}/ep_{n}",
        endpoint_id=f"ep_{n}",
        project_id=PROJECT,
        deployment_id=f"dep_{n}",
        name=name if name is not None else f"model-{n}",
        state="READY",
        spend=Spend("1x_nvidia_h100_80gb_sxm", replicas, cents),
        alert="ok",
        findings=findings,
    )


def _fleet(*lines: FleetLine) -> Fleet:
    return Fleet.of(lines, "2026-12-07T08:00:00Z")


IDLE = Finding(
    "idle_spend", Severity.WARNING, "held 3 READY replicas for 26 h with no requests: $2,489.76", subject="dep_2"
)


def test_the_digest_totals_the_fleet_per_day_and_lists_the_five_most_expensive() -> None:
    # Given seven priced lines, 100 to 700 cents an hour
    fleet = _fleet(*(_line(n, n * 100) for n in range(1, 8)))
    # When the digest is built
    digest = Digest.of(DATE, fleet, [])
    # Then it carries $/h, $/day and the five most expensive, most expensive first
    assert digest.cents_per_hour == 2800
    assert digest.cents_per_day == 2800 * 24
    assert [line.key for line in digest.top] == [f"{PROJECT}/ep_{n}" for n in (7, 6, 5, 4, 3)]
    assert digest.top[0].spend == "$7.00/h"
    assert digest.id == "digest-2026-12-07"


def test_idle_lines_show_their_cost_per_day_as_waste_and_the_findings_message() -> None:
    fleet = _fleet(_line(1, 500), _line(2, 3192, replicas=3, findings=("idle_spend",)))
    alert = OpenAlert(f"{PROJECT}/ep_2", "model-2", (IDLE,))
    digest = Digest.of(DATE, fleet, [alert])
    assert [line.key for line in digest.idle] == [f"{PROJECT}/ep_2"]
    assert digest.idle[0].cents_per_day == 3 * 3192 * 24
    assert digest.idle[0].message == IDLE.message
    assert digest.idle_cents_per_day == 3 * 3192 * 24


def test_the_idle_total_counts_every_idle_line_not_only_the_ones_listed() -> None:
    # Given more idle lines than the digest lists, each wasting $1.00 an hour
    lines = [_line(n, 100, findings=("idle_spend",)) for n in range(MAX_IDLE_LINES + 5)]
    digest = Digest.of(DATE, _fleet(*lines), [])
    # Then the "Idle" figure is what all of them waste, beside how many there are
    assert len(digest.idle) == MAX_IDLE_LINES and digest.idle_total == MAX_IDLE_LINES + 5
    assert digest.idle_cents_per_day == (MAX_IDLE_LINES + 5) * 100 * 24
    assert f"{MAX_IDLE_LINES + 5} line(s), $600.00/day" in json.dumps(slack_payload(digest))
    context = json.loads(sns_message(digest).message)["metadata"]["additionalContext"]
    assert context["idle_cents_per_day"] == str((MAX_IDLE_LINES + 5) * 100 * 24)
    assert Digest.from_json(digest.to_json()) == digest
    stored_before = {
        key: value for key, value in json.loads(digest.to_json()).items() if key != "idle_total_cents_per_day"
    }
    assert Digest.from_json(json.dumps(stored_before)).idle_cents_per_day == MAX_IDLE_LINES * 100 * 24


def test_an_idle_line_without_its_alert_still_shows_its_waste() -> None:
    digest = Digest.of(DATE, _fleet(_line(2, None, findings=("idle_spend",))), [])
    assert digest.idle[0].cents_per_day is None
    assert digest.idle[0].message is None
    assert "price unknown" in json.dumps(slack_payload(digest))


def test_firing_lists_critical_first_and_muted_last_with_a_summary() -> None:
    alerts = [
        OpenAlert("endpoint-b", "b", (Finding("under_replicated", Severity.WARNING, "only 1 of 2 ready"),)),
        OpenAlert("endpoint-c", "c", (Finding("state_failed", Severity.CRITICAL, "FAILED"),), muted=True),
        OpenAlert(
            "endpoint-a",
            "a",
            (
                Finding("autoscaling_missing", Severity.WARNING, "no autoscaling"),
                Finding("state_failed", Severity.CRITICAL, "state FAILED"),
            ),
        ),
    ]
    digest = Digest.of(DATE, _fleet(), alerts)
    assert [(f.key, f.severity, f.muted) for f in digest.firing] == [
        ("endpoint-a", "critical", False),
        ("endpoint-b", "warning", False),
        ("endpoint-c", "critical", True),
    ]
    assert digest.firing[0].summary == "state FAILED (+1 more)"


def test_the_stored_form_reads_back_the_same() -> None:
    fleet = _fleet(_line(1, 500), _line(2, 3192, replicas=3, findings=("idle_spend",)))
    digest = Digest.of(DATE, fleet, [OpenAlert(f"{PROJECT}/ep_2", "model-2", (IDLE,))])
    assert Digest.from_json(digest.to_json()) == digest


@pytest.mark.parametrize("date", ["2026-12-7", "2026-13-01", "07-12-2026", "2026-12-07T00:00", ""])
def test_a_digest_date_is_yyyy_mm_dd(date: str) -> None:
    assert not is_digest_date(date)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Digest.of(date, _fleet(), [])


def _large_hostile_digest() -> Digest:
    hostile = "<!channel> *bold* `tick` & " + "x" * 400
    lines = [_line(n, 100 + n, findings=("idle_spend",), name=hostile) for n in range(60)]
    alerts = [
        OpenAlert(
            line.key, hostile, (Finding("idle_spend", Severity.WARNING, hostile * 3, subject=line.deployment_id),)
        )
        for line in lines
    ]
    alerts += [
        OpenAlert(f"endpoint-{n}", hostile, (Finding("state_failed", Severity.CRITICAL, hostile * 3),))
        for n in range(100)
    ]
    return Digest.of(DATE, _fleet(*lines), alerts)


def test_the_slack_message_stays_within_block_kit_limits_and_escapes_upstream_text() -> None:
    digest = _large_hostile_digest()
    payload = slack_payload(digest)
    assert_within_block_kit_limits(payload["blocks"])
    text = json.dumps(payload)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert f"and {digest.firing_total - MAX_FIRING_LINES} more" in text
    assert payload["blocks"][0]["text"]["text"].startswith("\U0001f4b0 Daily digest 2026-12-07: $")


def test_an_empty_fleet_says_so() -> None:
    payload = slack_payload(Digest.of(DATE, _fleet(), []))
    text = json.dumps(payload)
    assert "$0.00/day" in text
    assert "Nothing holds replicas" in text and "Nothing idle" in text and "Nothing firing" in text


def test_the_sns_message_is_an_amazon_q_custom_notification() -> None:
    digest = _large_hostile_digest()
    message = sns_message(digest)
    document = json.loads(message.message)
    assert document["version"] == "1.0" and document["source"] == "custom"
    assert document["id"] == "digest-2026-12-07"
    assert document["content"]["textType"] == "client-markdown"
    assert len(document["content"]["description"]) <= 3500
    assert "<!channel>" not in document["content"]["description"]
    assert document["metadata"]["eventType"] == "EndpointRelayDailyDigest"
    assert document["metadata"]["additionalContext"]["cents_per_day"] == str(digest.cents_per_day)
    assert len(message.subject) <= MAX_SUBJECT_CHARS
    assert message.attributes == {"severity": "info", "kind": ("daily_digest",), "status": "digest"}


def test_money_is_dollars_with_two_decimals() -> None:
    digest = Digest.of(DATE, _fleet(_line(1, 3192, replicas=3)), [])
    text = json.dumps(slack_payload(digest), ensure_ascii=False)
    assert "$2,298.24/day ($95.76/h)" in text
