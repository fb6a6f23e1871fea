"""The daily digest's event: EventBridge Scheduler invokes SweepFunction with ``{"endpoint_relay": "digest"}``.

The digest's date (its de-duplication key) is the UTC date the invocation runs on, so a duplicate
delivery of the same schedule posts nothing twice. ``"date": "YYYY-MM-DD"`` in the input names
another day (a manual re-run); ``events/scheduled_digest.json`` is a sample.
"""

from __future__ import annotations

import time
from typing import Any

from endpoint_relay.app.digest import DigestReport
from endpoint_relay.core.digest import is_digest_date

_MARKER = "endpoint_relay"
_DAY_SECONDS = 86_400


class InvalidDigestEventError(ValueError):
    """The schedule's input names a digest date this relay cannot read."""


def is_digest_event(event: dict[str, Any]) -> bool:
    return event.get(_MARKER) == "digest"


def utc_date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def digest_date(event: dict[str, Any], now: float) -> str:
    date = event.get("date")
    if date is None:
        return utc_date(now)
    if not isinstance(date, str) or not is_digest_date(date):
        raise InvalidDigestEventError('"date" must be a UTC date, YYYY-MM-DD')
    return date


def retry_dates(now: float) -> list[str]:
    """The days whose digest a sweep may still owe a sink: yesterday (a failure just before midnight) and today."""
    return [utc_date(now - _DAY_SECONDS), utc_date(now)]


def digest_summary(report: DigestReport | None) -> dict[str, Any]:
    if report is None:
        return {"digest": "not configured (no alert table)"}
    return {"digest": report.to_dict()}
