"""Idle spend in the app: the analytics budget, a failed read, and lookups that never resolve a sweep verdict."""

from __future__ import annotations

from typing import Any

import pytest

from endpoint_relay.app.idle_spend import IdleSpend
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core.analytics import RequestCounts
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.errors import UpstreamUnavailableError
from endpoint_relay.core.policy import FindingKind, PolicyDocument
from endpoint_relay.core.prices import FixedPrices, PriceBook
from endpoint_relay.core.v2_models import Endpoint
from tests.fakes import FakeClock
from tests.unit.alerting_fakes import MemoryAlertStore
from tests.unit.v2_builders import EP2, PROJECT, STOPPED, deployment, endpoint

HOUR = 3600.0
HOURS = 8.0
OLD = "2023-11-01T00:00:00Z"


class FakeAnalytics:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.counts = RequestCounts(has_breakdown=True)
        self.error: Exception | None = None

    def get_v2_analytics(
        self, project_id: str, endpoint_id: str, api_key: str, *, start: float, end: float
    ) -> tuple[str, RequestCounts]:
        self.calls.append({"project": project_id, "endpoint": endpoint_id, "key": api_key, "start": start, "end": end})
        if self.error is not None:
            raise self.error
        return "{}", self.counts


class MemoryShared:
    def __init__(self) -> None:
        self.items: dict[str, tuple[CacheEntry[Any], float]] = {}

    def get(self, key: str, parse: Any) -> CacheEntry[Any] | None:
        found = self.items.get(key)
        return found[0] if found else None

    def put(self, key: str, entry: CacheEntry[Any], retain_until: float) -> None:
        self.items[key] = (entry, retain_until)

    def claim_refresh(self, key: str, seen_fetched_at: float, now: float, until: float) -> bool:
        return True


def _idle(clock: FakeClock, source: FakeAnalytics, shared: MemoryShared | None = None) -> IdleSpend:
    return IdleSpend(
        source=source,
        api_key=lambda: "sweep-key",
        prices=lambda: FixedPrices(v2=PriceBook({"2x_nvidia_h100_80gb_sxm": 3192})),
        clock=clock,
        shared=shared,
    )


def _ready(**fields: Any) -> Endpoint:
    return endpoint(deployment(created_at=OLD, **fields))


def test_one_analytics_call_per_endpoint_per_quarter_window() -> None:
    clock, source = FakeClock(), FakeAnalytics()
    idle = _idle(clock, source)
    for _ in range(8):  # sweeps every 15 minutes for two hours (a quarter of the 8-hour window)
        [finding] = idle.findings(_ready(), PROJECT, HOURS) or ()
        assert finding.kind == FindingKind.IDLE_SPEND
        clock.advance(15 * 60)
    assert len(source.calls) == 1
    assert source.calls[0] == {
        "project": PROJECT,
        "endpoint": EP2,
        "key": "sweep-key",
        "start": clock.now - 2 * HOUR - HOURS * HOUR,
        "end": clock.now - 2 * HOUR,
    }
    idle.findings(_ready(), PROJECT, HOURS)
    assert len(source.calls) == 2


def test_another_container_reuses_the_answer_from_the_shared_tier() -> None:
    clock, source, shared = FakeClock(), FakeAnalytics(), MemoryShared()
    _idle(clock, source, shared).findings(_ready(), PROJECT, HOURS)
    [(entry, retain_until)] = shared.items.values()
    assert retain_until == entry.fetched_at + HOURS * HOUR / 4
    clock.advance(HOUR)
    assert _idle(clock, source, shared).findings(_ready(), PROJECT, HOURS)
    assert len(source.calls) == 1


def test_no_call_when_the_check_is_off_or_nothing_could_be_idle() -> None:
    clock, source = FakeClock(), FakeAnalytics()
    idle = _idle(clock, source)
    assert idle.findings(_ready(), PROJECT, None) == ()
    assert idle.findings(endpoint(deployment(created_at=OLD, state=STOPPED, ready=0)), PROJECT, HOURS) == ()
    young = endpoint(deployment(created_at="2023-11-14T20:00:00Z"))  # 2 h before the clock
    assert idle.findings(young, PROJECT, HOURS) == ()
    assert source.calls == []


def test_a_failed_read_gives_no_verdict(caplog: pytest.LogCaptureFixture) -> None:
    clock, source = FakeClock(), FakeAnalytics()
    source.error = UpstreamUnavailableError("Together is unavailable")
    assert _idle(clock, source).findings(_ready(), PROJECT, HOURS) is None
    assert "analytics unavailable" in caplog.text


def test_a_lookup_carries_the_sweeps_idle_finding_and_a_sweep_resolves_it() -> None:
    clock, source, store = FakeClock(), FakeAnalytics(), MemoryAlertStore()
    policy = PolicyDocument.from_dict({"defaults": {"idle_after_hours": HOURS}})
    recorder = DecisionRecorder(policy=lambda: policy, store=store, sink_names=["slack"], clock=clock)
    idle = _idle(clock, source)

    def sweep(subject: Endpoint) -> list[str]:
        recorded = recorder.record_v2(subject, PROJECT, idle=idle.findings(subject, PROJECT, HOURS))
        return [f.kind for f in recorded.check.findings]

    def lookup(subject: Endpoint) -> list[str]:
        return [f.kind for f in recorder.record_v2(subject, PROJECT).check.findings]

    assert sweep(_ready()) == [FindingKind.IDLE_SPEND]
    clock.advance(60)
    assert lookup(_ready()) == [FindingKind.IDLE_SPEND]  # not resolved by a lookup
    assert recorder.evaluate_v2(_ready(), PROJECT)[0].kind == FindingKind.IDLE_SPEND  # nor by /together status
    # A failed analytics read carries the verdict too
    clock.advance(3 * HOUR)
    source.error = UpstreamUnavailableError("Together is unavailable")
    assert sweep(_ready()) == [FindingKind.IDLE_SPEND]
    # Requests appear: the next read resolves it
    source.error = None
    source.counts = RequestCounts(per_deployment={"dep_main": 5}, has_breakdown=True)
    assert sweep(_ready()) == []
    assert lookup(_ready()) == []


def test_a_lookup_drops_the_idle_finding_once_the_deployment_stops() -> None:
    clock, source, store = FakeClock(), FakeAnalytics(), MemoryAlertStore()
    policy = PolicyDocument.from_dict({"defaults": {"idle_after_hours": HOURS}})
    recorder = DecisionRecorder(policy=lambda: policy, store=store, sink_names=["slack"], clock=clock)
    recorder.record_v2(_ready(), PROJECT, idle=_idle(clock, source).findings(_ready(), PROJECT, HOURS))
    stopped = endpoint(deployment(created_at=OLD, state=STOPPED, ready=0))
    assert recorder.record_v2(stopped, PROJECT).check.findings == ()
