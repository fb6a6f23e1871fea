"""``/together spend``: parsed, deferred to the worker, and answered in one message within Block Kit's limits."""

from __future__ import annotations

import pytest

from endpoint_relay.core.cost import Spend
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.slack_commands import CommandArgumentError, SpendCommand, parse_command
from endpoint_relay.core.slack_followup import FollowUp
from endpoint_relay.core.slack_replies import help_reply
from endpoint_relay.core.slack_spend import MAX_LINES, spend_reply
from tests.unit.block_kit_limits import assert_within_block_kit_limits

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"


def line(number: int, cents: int | None = 3192, replicas: int = 3, alert: str = "ok") -> FleetLine:
    return FleetLine(
        key=f"{PROJECT}/ep_{number:020d}",
        endpoint_id=f"ep_{number:020d}",
        project_id=PROJECT,
        deployment_id=f"dep_{number}",
        name="<!channel> *bold*" if number == 0 else f"chat-{number}",
        state="DEPLOYMENT_STATE_FAILED" if number == 0 else "DEPLOYMENT_STATE_READY",
        spend=Spend("2x_nvidia_h100_80gb_sxm", replicas, cents, max_replicas=5),
        alert=alert,
        findings=("state_failed",) if alert == "firing" else (),
    )


def _text(reply: dict[str, object]) -> str:
    return str(reply["blocks"])


def test_spend_parses_and_takes_no_arguments() -> None:
    assert parse_command("spend") == SpendCommand()
    assert parse_command("  SPEND ") == SpendCommand()
    with pytest.raises(CommandArgumentError):
        parse_command("spend now")


def test_spend_is_in_the_help_and_crosses_to_the_worker() -> None:
    assert "/together spend" in str(help_reply("/together"))
    followup = FollowUp("spend", "https://hooks.slack.com/commands/T1/1/x", "U1", "T1")

    assert FollowUp.from_event(followup.event()) == followup
    assert FollowUp.from_event({**followup.event(), "endpoint_id": "endpoint-x"}) is None


def test_each_line_gives_state_replicas_dollars_and_alert_and_a_total_closes_it() -> None:
    fleet = Fleet.of([line(0, alert="firing"), line(1, cents=1000, replicas=1)], "2026-12-07T00:00:00Z")

    reply = spend_reply(fleet)

    text = _text(reply)
    assert "FAILED · 3 replica(s) · *$95.76/h, up to $159.60/h at 5 replicas* · firing (`state_failed`)" in text
    assert "READY · 1 replica(s) · *$10.00/h, up to $50.00/h at 5 replicas* · ok" in text
    assert reply["blocks"][-1]["text"]["text"] == "*Total:* $105.76/h · $2,538.24/day across 2 line(s)"
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert_within_block_kit_limits(reply["blocks"])


def test_unknown_prices_and_unreadable_sources_are_said() -> None:
    fleet = Fleet.of([line(1, cents=None)], "2026-12-07T00:00:00Z", unreadable=["v1"])

    text = _text(spend_reply(fleet))

    assert "*price unknown* (`2x_nvidia_h100_80gb_sxm`)" in text
    assert "1 line(s) at an unknown price are left out of the total" in text
    assert "could not be read, so not counted: `v1`" in text


def test_an_empty_fleet_says_so() -> None:
    reply = spend_reply(Fleet.of([], "2026-12-07T00:00:00Z"))

    assert "No deployment holds replicas right now." in _text(reply)
    assert reply["text"] == "Fleet spend: $0.00/h · $0.00/day across 0 line(s)"


@pytest.mark.parametrize("size", [MAX_LINES, MAX_LINES + 1, 1_000])
def test_a_large_fleet_shows_the_most_expensive_and_what_the_rest_cost(size: int) -> None:
    fleet = Fleet.of([line(number, cents=100 + number) for number in range(1, size + 1)], "2026-12-07T00:00:00Z")

    reply = spend_reply(fleet)

    assert_within_block_kit_limits(reply["blocks"])
    text = _text(reply)
    rest = fleet.lines[MAX_LINES:]
    if rest:
        rest_cents = sum(item.spend.now_cents or 0 for item in rest)
        assert f"…and {len(rest)} more, ${rest_cents // 100:,}.{rest_cents % 100:02d}/h together" in text
        assert "GET /relay/fleet" in text
        assert fleet.lines[MAX_LINES - 1].key in text and rest[0].key not in text
    else:
        assert "more," not in text
    assert f"across {size} line(s)" in reply["blocks"][-1]["text"]["text"]
