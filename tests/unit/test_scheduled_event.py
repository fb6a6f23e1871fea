"""The scheduled sweep's input: which events are sweeps, and which targets they name."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.events import load_event
from endpoint_relay.routes.scheduled import InvalidSweepEventError, is_sweep_event, targets_of


def test_the_sample_event_sweeps_all() -> None:
    event = load_event("scheduled_sweep.json")
    assert is_sweep_event(event)
    assert targets_of(event) == ("all",)


@pytest.mark.parametrize(
    ("endpoints", "targets"),
    [
        (["endpoint-a", " endpoint-b "], ("endpoint-a", "endpoint-b")),
        ("endpoint-a, endpoint-b", ("endpoint-a", "endpoint-b")),
        ("all", ("all",)),
        (None, None),
    ],
    ids=["list", "comma-separated", "all", "absent"],
)
def test_targets_come_from_the_schedule_input(endpoints: Any, targets: tuple[str, ...] | None) -> None:
    assert targets_of({"endpoint_relay": "sweep", "endpoints": endpoints}) == targets


def test_a_plain_scheduled_event_sweeps_the_watched_endpoints() -> None:
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert is_sweep_event(event)
    assert targets_of(event) is None


@pytest.mark.parametrize(
    "event",
    [{"version": "2.0", "requestContext": {}}, {"source": "aws.events", "detail-type": "Other"}, {}],
    ids=["http", "other-eventbridge", "empty"],
)
def test_other_events_are_not_sweeps(event: dict[str, Any]) -> None:
    assert not is_sweep_event(event)


@pytest.mark.parametrize(
    "endpoints",
    [5, ["endpoint-a", 3], [], "", "all,endpoint-a", {"ids": []}, [f"endpoint-{i}" for i in range(1001)]],
    ids=["number", "mixed-list", "empty-list", "empty-string", "all-and-ids", "object", "too-many"],
)
def test_a_malformed_schedule_input_is_refused(endpoints: Any) -> None:
    with pytest.raises(InvalidSweepEventError):
        targets_of({"endpoint_relay": "sweep", "endpoints": endpoints})
