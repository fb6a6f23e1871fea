"""The fleet view: its lines, alert column, unreadable sources and one build per minute (fakes, no network)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import pytest

from endpoint_relay.app.fleet_view import FleetSources, FleetView
from endpoint_relay.app.sweep_targets import V1Retirement
from endpoint_relay.core.alert_preload import NO_STORED_ALERT, PreloadedAlert
from endpoint_relay.core.alerting import AlertState, AlertStatus, StoredAlert
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.errors import (
    AlertStoreError,
    EndpointNotFoundError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    V1RetiredError,
)
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.policy import Finding, Severity
from endpoint_relay.core.prices import FixedPrices, PriceBook
from endpoint_relay.core.v2_models import Endpoint
from tests.unit.v2_builders import EP2, FAILED, OTHER_PROJECT, PROJECT, READY, deployment, endpoint

H100 = "2x_nvidia_h100_80gb_sxm"
V1_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
PRICES = FixedPrices(v2=PriceBook({H100: 3192}), v1=PriceBook({"8x_nvidia_h200_140gb_sxm": 6000}))


def v1_endpoint(state: str = "STARTED", min_replicas: int = 2) -> V1Endpoint:
    return V1Endpoint.from_json(
        json.dumps(
            {
                "id": V1_ID,
                "name": "devuser/r1",
                "display_name": "R1",
                "model": "deepseek-ai/DeepSeek-R1",
                "hardware": "8x_nvidia_h200_140gb_sxm",
                "owner": "devuser",
                "state": state,
                "autoscaling": {"min_replicas": min_replicas, "max_replicas": 3},
                "created_at": "2025-02-04T10:43:55.405Z",
            }
        )
    )


class Fakes:
    def __init__(self) -> None:
        self.projects: dict[str, list[Endpoint] | Exception] = {
            PROJECT: [
                endpoint(
                    deployment("dep_a", FAILED, ready=3),
                    deployment("dep_b", READY, ready=1),
                    deployment("dep_c", READY, ready=0),
                )
            ]
        }
        self.v1: list[str] | Exception = [V1_ID]
        self.v1_endpoints: dict[str, V1Endpoint | Exception] = {V1_ID: v1_endpoint()}
        self.alerts: Mapping[str, PreloadedAlert] | Exception = {}
        self.builds = 0
        self.alert_reads: list[Sequence[str]] = []

    def list_project(self, project_id: str) -> Iterable[Endpoint]:
        self.builds += 1
        found = self.projects[project_id]
        if isinstance(found, Exception):
            raise found
        return found

    def list_v1_ids(self) -> Sequence[str]:
        if isinstance(self.v1, Exception):
            raise self.v1
        return self.v1

    def read_v1(self, endpoint_id: str) -> V1Endpoint:
        found = self.v1_endpoints[endpoint_id]
        if isinstance(found, Exception):
            raise found
        return found

    def read_alerts(self, endpoint_ids: Sequence[str]) -> Mapping[str, PreloadedAlert]:
        self.alert_reads.append(endpoint_ids)
        if isinstance(self.alerts, Exception):
            raise self.alerts
        return self.alerts

    def view(self, *, alerts: bool = True, now: list[float] | None = None, v1: V1Retirement | None = None) -> FleetView:
        clock = now if now is not None else [1_700_000_000.0]
        sources = FleetSources(
            projects=sorted(self.projects),
            list_project=self.list_project,
            list_v1_ids=self.list_v1_ids,
            read_v1=self.read_v1,
            v1=v1 or V1Retirement(),
            alerts=self.read_alerts if alerts else None,
        )
        return FleetView(sources, PRICES, clock=lambda: clock[0])


def _stored(*findings: Finding, muted_until: float | None = None) -> StoredAlert:
    status = AlertStatus.FIRING if findings else AlertStatus.OK
    return StoredAlert(AlertState(status=status, findings=findings, muted_until=muted_until), version=1)


def test_one_line_per_deployment_holding_replicas_and_per_running_v1_endpoint_most_expensive_first() -> None:
    fakes = Fakes()

    fleet = fakes.view().fleet()

    assert [(line.key, line.deployment_id, line.spend.now_cents) for line in fleet.lines] == [
        (V1_ID, None, 12000),  # 2 (min) x 60.00
        (f"{PROJECT}/{EP2}", "dep_a", 9576),  # 3 x 31.92
        (f"{PROJECT}/{EP2}", "dep_b", 3192),
    ]
    assert fleet.cents_per_hour == 24768
    assert fleet.cents_per_day == 24768 * 24
    assert fleet.unreadable == ()
    assert fleet.lines[0].spend.estimated and fleet.lines[0].name == "R1"


def test_the_alert_column_is_per_deployment_from_one_batch_read() -> None:
    fakes = Fakes()
    failed = Finding("state_failed", Severity.CRITICAL, "dep_a failed", subject="dep_a")
    fakes.alerts = {f"{PROJECT}/{EP2}": _stored(failed), V1_ID: NO_STORED_ALERT}

    fleet = fakes.view().fleet()

    alerts = {(line.key, line.deployment_id): (line.alert, line.findings) for line in fleet.lines}
    assert alerts == {
        (V1_ID, None): ("ok", ()),
        (f"{PROJECT}/{EP2}", "dep_a"): ("firing", ("state_failed",)),
        (f"{PROJECT}/{EP2}", "dep_b"): ("ok", ()),
    }
    assert fakes.alert_reads == [sorted([V1_ID, f"{PROJECT}/{EP2}"])]


def test_an_endpoint_wide_finding_fires_every_line_and_a_mute_wins() -> None:
    fakes = Fakes()
    wide = Finding("not_running", Severity.CRITICAL, "nothing serves")
    fakes.alerts = {f"{PROJECT}/{EP2}": _stored(wide, muted_until=1_700_000_600.0)}

    fleet = fakes.view().fleet()

    v2 = [(line.alert, line.findings) for line in fleet.lines if line.project_id]
    assert v2 == [("muted", ("not_running",)), ("muted", ("not_running",))]
    assert [line.alert for line in fleet.lines if line.project_id is None] == ["unknown"]  # not in the answer


@pytest.mark.parametrize("alerts", [False, True])
def test_without_a_readable_alert_table_every_line_is_unknown(alerts: bool) -> None:
    fakes = Fakes()
    fakes.alerts = AlertStoreError("table unavailable")

    fleet = fakes.view(alerts=alerts).fleet()

    assert {line.alert for line in fleet.lines} == {"unknown"}
    assert fleet.cents_per_hour == 24768


def test_an_unreadable_project_or_v1_is_named_and_left_out_of_the_totals() -> None:
    fakes = Fakes()
    fakes.projects[OTHER_PROJECT] = UpstreamTimeoutError("slow")
    fakes.v1 = UpstreamUnavailableError("down")

    fleet = fakes.view().fleet()

    assert fleet.unreadable == tuple(sorted(("v1", OTHER_PROJECT)))
    assert fleet.cents_per_hour == 9576 + 3192


def test_a_retired_v1_is_simply_absent_and_is_not_asked_again() -> None:
    fakes = Fakes()
    fakes.v1 = V1RetiredError("gone")
    retirement = V1Retirement()

    fleet = fakes.view(v1=retirement).fleet()

    assert fleet.unreadable == () and all(line.project_id for line in fleet.lines)
    assert retirement.retired


def test_a_v1_endpoint_deleted_since_the_list_bills_nothing() -> None:
    fakes = Fakes()
    fakes.v1_endpoints[V1_ID] = EndpointNotFoundError("endpoint not found")

    fleet = fakes.view().fleet()

    assert fleet.unreadable == () and len(fleet.lines) == 2


def test_a_stopped_v1_endpoint_holds_nothing() -> None:
    fakes = Fakes()
    fakes.v1_endpoints[V1_ID] = v1_endpoint("STOPPED")

    assert len(fakes.view().fleet().lines) == 2


def test_when_no_source_can_be_read_the_view_fails_rather_than_claiming_nothing_bills() -> None:
    fakes = Fakes()
    fakes.projects[PROJECT] = UpstreamTimeoutError("slow")
    fakes.v1 = UpstreamUnavailableError("down")

    with pytest.raises(UpstreamTimeoutError):
        fakes.view().fleet()


def test_a_burst_costs_one_build_until_the_minute_is_up() -> None:
    fakes = Fakes()
    now = [1_700_000_000.0]
    view = fakes.view(now=now)

    first = view.answer()
    now[0] += 59
    second = view.answer()
    now[0] += 1
    third = view.answer()

    assert (first.status, second.status, third.status) == (CacheStatus.MISS, CacheStatus.HIT, CacheStatus.MISS)
    assert (second.age, second.max_age) == (59, 1)
    assert second.fleet is first.fleet
    assert fakes.builds == 2


def test_a_forced_refresh_builds_anew() -> None:
    fakes = Fakes()
    view = fakes.view()
    view.fleet()

    answer = view.answer(force_refresh=True)

    assert answer.status is CacheStatus.REFRESH and fakes.builds == 2
