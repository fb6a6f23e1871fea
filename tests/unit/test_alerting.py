"""The alert lifecycle as a pure state machine: firing, repeat interval, changed, resolved, muted."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.alerting import (
    AlertState,
    AlertStatus,
    Decision,
    EndpointSnapshot,
    Notice,
    NoticeKind,
    decide,
    fingerprint,
    state_since,
)
from endpoint_relay.core.policy import Finding, Severity

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
START = 1_800_000_000.0
HOUR = 3600.0
REPEAT = 4 * HOUR

ERROR = Finding("state_failed", Severity.CRITICAL, "failure: expected healthy, actual ERROR", "healthy", "ERROR")
TOO_BIG = Finding("max_replicas_above_expected", Severity.WARNING, "cost", "max_replicas <= 4", "max_replicas=9")


def _snapshot(state: str = "STARTED") -> EndpointSnapshot:
    return EndpointSnapshot(ENDPOINT_ID, "Prod chat", "org/model", "model", "h100", state, 1, 2, 1, 4)


class Timeline:
    """Feeds observations through decide(), remembering the state as the store would."""

    def __init__(self) -> None:
        self.state: AlertState | None = None
        self.now = START
        self.notices: list[Notice] = []
        self.writes = 0

    def observe(self, *findings: Finding, state: str = "STARTED", after: float = 300.0) -> Decision:
        self.now += after
        decision = decide(self.state, _snapshot(state), tuple(findings), now=self.now, repeat_interval=REPEAT)
        if decision.write:
            self.writes += 1
            self.state = decision.state
        if decision.notice:
            self.notices.append(decision.notice)
        return decision

    def kinds(self) -> list[NoticeKind]:
        return [notice.kind for notice in self.notices]


def test_started_error_repeats_reminder_resolved() -> None:
    timeline = Timeline()
    # Given a healthy endpoint, seen once
    timeline.observe()
    # When it reports ERROR, and keeps reporting it for five more sweeps inside the repeat interval
    opened = timeline.observe(ERROR, state="ERROR")
    for _ in range(5):
        timeline.observe(ERROR, state="ERROR")
    # Then there is exactly one firing notice
    assert timeline.kinds() == [NoticeKind.FIRING]
    assert opened.notice is not None and opened.notice.findings == (ERROR,)
    # When time passes the repeat interval, exactly one reminder; then nothing until the next interval
    timeline.observe(ERROR, state="ERROR", after=REPEAT)
    timeline.observe(ERROR, state="ERROR")
    assert timeline.kinds() == [NoticeKind.FIRING, NoticeKind.REMINDER]
    # When it recovers, exactly one resolved notice naming what cleared; then silence
    resolved = timeline.observe()
    timeline.observe()
    assert timeline.kinds() == [NoticeKind.FIRING, NoticeKind.REMINDER, NoticeKind.RESOLVED]
    assert resolved.notice is not None and resolved.notice.findings == (ERROR,)
    assert resolved.notice.opened_at == opened.notice.opened_at
    assert timeline.state is not None and timeline.state.status is AlertStatus.OK


def test_a_steady_healthy_endpoint_is_written_once() -> None:
    timeline = Timeline()
    for _ in range(10):
        timeline.observe()
    assert timeline.writes == 1  # the first sight records the state and since when
    assert timeline.notices == []


def test_repeats_inside_the_interval_do_not_write() -> None:
    timeline = Timeline()
    timeline.observe(ERROR, state="ERROR")
    writes = timeline.writes
    for _ in range(5):
        assert timeline.observe(ERROR, state="ERROR").write is False
    assert timeline.writes == writes


def test_a_different_set_of_findings_is_a_change() -> None:
    timeline = Timeline()
    timeline.observe(ERROR, state="ERROR")
    changed = timeline.observe(ERROR, TOO_BIG, state="ERROR")
    assert timeline.kinds() == [NoticeKind.FIRING, NoticeKind.CHANGED]
    assert changed.notice is not None and changed.notice.findings == (ERROR, TOO_BIG)
    # "since when" is the time the episode opened, not the time it changed
    assert changed.notice.opened_at == timeline.notices[0].opened_at


def test_a_new_message_text_alone_is_not_a_change() -> None:
    timeline = Timeline()
    timeline.observe(ERROR, state="ERROR")
    reworded = replace(ERROR, message="the same finding, described differently")
    decision = timeline.observe(reworded, state="ERROR")
    assert decision.notice is None and decision.write is False


def test_a_mute_holds_notices_back_and_the_endpoint_alerts_again_after_it() -> None:
    timeline = Timeline()
    timeline.observe()
    assert timeline.state is not None
    timeline.state = replace(timeline.state, muted_until=timeline.now + HOUR)
    # While muted: the endpoint fails, and nothing is issued (but the suppression is reported)
    held = timeline.observe(ERROR, state="ERROR")
    assert held.notice is None and held.suppressed is NoticeKind.FIRING
    assert held.state.status is AlertStatus.FIRING  # the lifecycle still tracks it
    # After the mute ends, the next observation alerts
    timeline.observe(ERROR, state="ERROR", after=HOUR)
    assert timeline.kinds() == [NoticeKind.FIRING]


def test_muting_an_announced_alert_re_announces_it_after_the_mute() -> None:
    timeline = Timeline()
    timeline.observe(ERROR, state="ERROR")
    assert timeline.state is not None
    timeline.state = replace(timeline.state, muted_until=timeline.now + HOUR)
    timeline.observe(ERROR, state="ERROR")
    timeline.observe(ERROR, state="ERROR", after=HOUR)
    assert timeline.kinds() == [NoticeKind.FIRING, NoticeKind.FIRING]


def test_recovery_while_muted_sends_nothing_at_all() -> None:
    timeline = Timeline()
    timeline.observe(ERROR, state="ERROR")
    assert timeline.state is not None
    timeline.state = replace(timeline.state, muted_until=timeline.now + HOUR)
    recovered = timeline.observe()
    timeline.observe(after=HOUR)
    assert recovered.notice is None and recovered.suppressed is NoticeKind.RESOLVED
    assert timeline.kinds() == [NoticeKind.FIRING]


def test_state_since_is_kept_while_the_state_holds() -> None:
    previous = AlertState(endpoint_state="PENDING", state_since=START)
    assert state_since(previous, "PENDING", START + 900) == START
    assert state_since(previous, "STARTING", START + 900) == START + 900
    assert state_since(None, "PENDING", START + 900) == START + 900


def test_fingerprint_ignores_order_and_wording() -> None:
    assert fingerprint((ERROR, TOO_BIG)) == fingerprint((TOO_BIG, replace(ERROR, message="other words")))
    assert fingerprint((ERROR,)) != fingerprint((ERROR, TOO_BIG))
    assert fingerprint(()) is None


def test_a_notice_survives_the_json_round_trip() -> None:
    notice = decide(None, _snapshot("ERROR"), (ERROR, TOO_BIG), now=START).notice
    assert notice is not None
    assert Notice.from_json(notice.to_json()) == notice
    assert notice.severity is Severity.CRITICAL
    assert notice.primary_kind == "state_failed"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["ok", "error", "error+big", "big"]), st.sampled_from([60.0, 600.0, HOUR, 5 * HOUR])),
        max_size=40,
    )
)
def test_any_history_follows_the_lifecycle_rules(steps: list[tuple[str, float]]) -> None:
    findings_for = {"ok": (), "error": (ERROR,), "error+big": (ERROR, TOO_BIG), "big": (TOO_BIG,)}
    timeline = Timeline()
    for name, gap in steps:
        timeline.observe(*findings_for[name], after=gap)
    firing = False
    last_at: dict[str | None, float] = {}
    for notice in timeline.notices:
        if notice.kind is NoticeKind.FIRING:
            assert not firing, "a second firing notice without a resolved one in between"
            firing = True
        elif notice.kind is NoticeKind.RESOLVED:
            assert firing, "resolved without having fired"
            firing = False
        else:
            assert firing, f"{notice.kind} outside an episode"
        if notice.kind is NoticeKind.REMINDER:
            assert notice.created_at - last_at[fingerprint(notice.findings)] >= REPEAT
        last_at[fingerprint(notice.findings)] = notice.created_at
