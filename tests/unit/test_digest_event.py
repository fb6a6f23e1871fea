"""The digest's trigger: which events are digests, their date, and the days a sweep retries."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.events import load_event
from endpoint_relay.routes.digest import InvalidDigestEventError, digest_date, is_digest_event, retry_dates
from endpoint_relay.routes.scheduled import is_sweep_event

NOON = 1_796_644_800.0  # 2026-12-07T12:00:00Z


def test_the_sample_event_is_a_digest_of_today_and_not_a_sweep() -> None:
    event = load_event("scheduled_digest.json")
    assert is_digest_event(event) and not is_sweep_event(event)
    assert digest_date(event, NOON) == "2026-12-07"


def test_the_scheduled_time_names_the_day_even_when_a_retry_lands_after_midnight() -> None:
    scheduled = {"endpoint_relay": "digest", "scheduled_time": "2026-12-06T23:59:00Z"}
    assert digest_date(scheduled, NOON) == "2026-12-06"
    assert digest_date({**scheduled, "scheduled_time": "2026-12-07T01:00:00+02:00"}, NOON) == "2026-12-06"


@pytest.mark.parametrize("scheduled", ["<aws.scheduler.scheduled-time>", "2026-12-07T08:00:00", 1796630400, None])
def test_an_unreadable_scheduled_time_is_refused(scheduled: Any) -> None:
    event = {"endpoint_relay": "digest", "scheduled_time": scheduled}
    if scheduled is None:
        assert digest_date(event, NOON) == "2026-12-07"  # a manual invoke without one: today
        return
    with pytest.raises(InvalidDigestEventError):
        digest_date(event, NOON)


def test_a_date_in_the_input_names_another_day() -> None:
    assert digest_date({"endpoint_relay": "digest", "date": "2026-12-01"}, NOON) == "2026-12-01"


@pytest.mark.parametrize("date", ["yesterday", "2026-12-1", 20261201, ["2026-12-01"], "2026-12-01T00:00:00Z"])
def test_a_malformed_date_is_refused(date: Any) -> None:
    with pytest.raises(InvalidDigestEventError):
        digest_date({"endpoint_relay": "digest", "date": date}, NOON)


def test_sweeps_retry_yesterdays_and_todays_digest() -> None:
    assert retry_dates(NOON) == ["2026-12-06", "2026-12-07"]
    assert retry_dates(1_796_601_600.0) == ["2026-12-06", "2026-12-07"]  # midnight UTC
