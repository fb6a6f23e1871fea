"""The events feed call fits beside a notice's delivery: it starts with little time, and never eats the reserve."""

from __future__ import annotations

from endpoint_relay.app.reasons import EventReasons
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.v2_models import Event
from tests.fakes import FakeClock, FakeEventFeed


class MeasuringFeed(FakeEventFeed):
    """Notes how much time the deadline left the call, as the HTTP client would cap its timeouts."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline
        self.seen_remaining: list[float] = []

    def list_v2_events(
        self, project_id: str, endpoint_id: str, api_key: str, *, min_level: str, since: str | None, limit: int
    ) -> tuple[Event, ...]:
        self.seen_remaining.append(self.deadline.remaining())
        return super().list_v2_events(project_id, endpoint_id, api_key, min_level=min_level, since=since, limit=limit)


def test_the_feed_is_read_with_the_delivery_reserve_held_back() -> None:
    # Given a lookup with 27 s left, a 21 s delivery reserve and a 3 s floor for the feed call
    clock = FakeClock()
    deadline = Deadline(clock=clock)
    deadline.arm(27_000)
    feed = MeasuringFeed(deadline)
    feed.add("LEVEL_ERROR", "weights not found")
    reasons = EventReasons(feed, lambda: "key", deadline, call_seconds=3.0, reserve_seconds=21.0)
    # When a firing deployment is explained
    lines = reasons.explain("proj_a", "ep_a", ["dep_main"], seen_at=clock())
    # Then the feed was read, and the call could use only what is left above the reserve
    assert [line.message for line in lines] == ["weights not found"]
    assert feed.seen_remaining == [6.0]
    # And the reserve is released afterwards, for the delivery
    assert deadline.remaining() == 27.0


def test_too_little_time_above_the_reserve_skips_the_feed() -> None:
    clock = FakeClock()
    deadline = Deadline(clock=clock)
    deadline.arm(23_000)
    feed = MeasuringFeed(deadline)
    reasons = EventReasons(feed, lambda: "key", deadline, call_seconds=3.0, reserve_seconds=21.0)
    assert reasons.explain("proj_a", "ep_a", ["dep_main"], seen_at=clock()) == ()
    assert feed.calls == []
