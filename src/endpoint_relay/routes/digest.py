"""The daily digest's event: EventBridge Scheduler invokes SweepFunction with ``{"endpoint_relay": "digest"}``.

The digest's date (its de-duplication key) is the UTC date of the schedule's ``scheduled_time``, which the
template fills from Scheduler's ``<aws.scheduler.scheduled-time>``: a duplicate delivery, or a retry that
lands after midnight, carries the same time and so posts nothing twice. Without it (a manual invoke) the
invocation's own UTC date is used. ``"date": "YYYY-MM-DD"`` in the input names another day (a manual
re-run); ``events/scheduled_digest.json`` is a sample.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from endpoint_relay.routes.scheduled import EVENT_MARKER

if TYPE_CHECKING:
    from endpoint_relay.app.digest import DigestReport

_DAY_SECONDS = 86_400


class InvalidDigestEventError(ValueError):
    """The schedule's input names a digest date this relay cannot read."""


def is_digest_event(event: dict[str, Any]) -> bool:
    return event.get(EVENT_MARKER) == "digest"


def utc_date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def digest_date(event: dict[str, Any], now: float) -> str:
    from endpoint_relay.core.digest import is_digest_date  # the digest's modules stay off a sweep's cold start

    date = event.get("date")
    if date is None:
        scheduled = event.get("scheduled_time")
        return utc_date(now) if scheduled is None else _scheduled_date(scheduled)
    if not isinstance(date, str) or not is_digest_date(date):
        raise InvalidDigestEventError('"date" must be a UTC date, YYYY-MM-DD')
    return date


def _scheduled_date(scheduled: object) -> str:
    try:
        instant = datetime.fromisoformat(scheduled) if isinstance(scheduled, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidDigestEventError('"scheduled_time" must be an RFC 3339 time with its offset')
    return instant.astimezone(UTC).strftime("%Y-%m-%d")


def retry_dates(now: float) -> list[str]:
    """The days whose digest a sweep may still owe a sink: yesterday (a failure just before midnight) and today."""
    return [utc_date(now - _DAY_SECONDS), utc_date(now)]


def digest_summary(report: DigestReport | None) -> dict[str, Any]:
    if report is None:
        return {"digest": "not configured (no alert table)"}
    return {"digest": report.to_dict()}
