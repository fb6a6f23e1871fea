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


def test_a_date_in_the_input_names_another_day() -> None:
    assert digest_date({"endpoint_relay": "digest", "date": "2026-12-01"}, NOON) == "2026-12-01"


@pytest.mark.parametrize("date", ["yesterday", "2026-12-1", 20261201, ["2026-12-01"], "2026-12-01T00:00:00Z"])
def test_a_malformed_date_is_refused(date: Any) -> None:
    with pytest.raises(InvalidDigestEventError):
        digest_date({"endpoint_relay": "digest", "date": date}, NOON)


def test_sweeps_retry_yesterdays_and_todays_digest() -> None:
    assert retry_dates(NOON) == ["2026-12-06", "2026-12-07"]
    assert retry_dates(1_796_601_600.0) == ["2026-12-06", "2026-12-07"]  # midnight UTC
