"""The digest's trigger and its stand-in fleet: which events are digests, their date, and the v2 lines it costs."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.events import load_event
from endpoint_relay.app.digest_fleet import ListedFleet
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.digest import OpenAlert
from endpoint_relay.core.errors import UpstreamUnavailableError
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.prices import FixedPrices, PriceBook
from endpoint_relay.routes.digest import InvalidDigestEventError, digest_date, is_digest_event, retry_dates
from endpoint_relay.routes.scheduled import is_sweep_event
from tests.unit.v2_builders import EP2, PROJECT, deployment, endpoint

NOON = 1_796_644_800.0  # 2026-12-07T12:00:00Z


def test_the_sample_event_is_a_digest_of_today_and_not_a_sweep() -> None:
    event = load_event("scheduled_digest.json")
    assert is_digest_event(event) and not is_sweep_event(event)
    assert digest_date(event, NOON) == "2026-12-07"


def test_a_date_in_the_input_names_another_day() -> None:
    assert digest_date({"endpoint_relay": "digest", "date": "2026-12-01"}, NOON) == "2026-12-01"


@pytest.mark.parametrize("date", ["yesterday", "2026-12-1", 20261201, ["2026-12-01"], "2026-12-01T00:00:00Z"])
def test_a_malformed_date_is_refused(date: Any) -> None:
    with pytest.raises(InvalidDigestEventError):
        digest_date({"endpoint_relay": "digest", "date": date}, NOON)


def test_sweeps_retry_yesterdays_and_todays_digest() -> None:
    assert retry_dates(NOON) == ["2026-12-06", "2026-12-07"]
    assert retry_dates(1_796_601_600.0) == ["2026-12-06", "2026-12-07"]  # midnight UTC


class Alerts:
    def __init__(self, *alerts: OpenAlert) -> None:
        self.alerts = list(alerts)

    def open_alerts(self) -> list[OpenAlert]:
        return self.alerts


def test_the_stand_in_fleet_costs_each_v2_deployment_holding_ready_replicas() -> None:
    listed = endpoint(deployment("dep_a", ready=3), deployment("dep_b", ready=0), split={"dep_a": 100.0})
    key = f"{PROJECT}/{EP2}"
    idle = Finding("idle_spend", Severity.WARNING, "idle for 26 h", subject="dep_a")
    other = Finding("under_replicated", Severity.WARNING, "short", subject="dep_b")
    fleet = ListedFleet(
        lambda: {key: Listed(PROJECT, listed)},
        FixedPrices(v2=PriceBook({"2x_nvidia_h100_80gb_sxm": 3192})),
        Alerts(OpenAlert(key, "chat", (idle, other))),
        lambda: NOON,
    ).fleet()
    assert [(line.deployment_id, line.spend.now_cents) for line in fleet.lines] == [("dep_a", 9576)]
    assert fleet.lines[0].alert == "firing"
    assert fleet.lines[0].findings == ("idle_spend",)
    assert fleet.generated_at == "2026-12-07T12:00:00Z"


def test_an_unreadable_listing_is_named_not_raised() -> None:
    def fail() -> dict[str, Listed]:
        raise UpstreamUnavailableError("down")

    fleet = ListedFleet(fail, FixedPrices(), Alerts(), lambda: NOON).fleet()
    assert fleet.lines == () and fleet.unreadable == ("v2",)
