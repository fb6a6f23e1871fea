"""Why a v2 deployment started firing, from the endpoint's events feed: best effort, within the time left.

The reason is a courtesy: a notice never waits for it beyond what the request
can spare, and never fails because of it. A feed that errors, a secret that
cannot be read or too little time left all yield no reason and one log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.v2_models import Event, EventLevel
from endpoint_relay.core.v2_notice import ReasonLine, reason_lines

logger = logging.getLogger(__name__)

LOOKBACK_SECONDS = 15 * 60.0
"""Events this long before the transition was seen still explain it (a sweep sees a failure minutes late)."""
EVENTS_ASKED = 5


class EventFeed(Protocol):
    """The events feed as :meth:`EventReasons.explain` calls it, every argument given: the defaults are the client's."""

    def list_v2_events(
        self, project_id: str, endpoint_id: str, api_key: str, *, min_level: str, since: str | None, limit: int
    ) -> tuple[Event, ...]: ...


class EventReasons:
    def __init__(
        self,
        feed: EventFeed,
        api_key: Callable[[], str],
        deadline: Deadline,
        *,
        call_seconds: float,
        reserve_seconds: float = 0.0,
        lookback_seconds: float = LOOKBACK_SECONDS,
    ) -> None:
        self._feed = feed
        self._api_key = api_key
        self._deadline = deadline
        self._reserve = reserve_seconds
        """What must stay for delivering the notice afterwards: the feed call never eats into it."""
        self._needed = call_seconds + reserve_seconds
        """The least time worth starting the feed call with, plus the reserve (the deadline caps the call itself)."""
        self._lookback = lookback_seconds

    def explain(
        self, project_id: str, endpoint_id: str, deployment_ids: Iterable[str], *, seen_at: float
    ) -> tuple[ReasonLine, ...]:
        """The newest WARN/ERROR events about ``deployment_ids`` since shortly before ``seen_at``; () on any failure."""
        where = {"project_id": project_id, "endpoint_id": endpoint_id}
        if not self._deadline.allows(self._needed):
            logger.warning("no time left to read the events feed; the notice goes out without a reason", extra=where)
            return ()
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seen_at - self._lookback))
        try:
            # The client caps its timeouts and retries at what the deadline has left: held back, the reserve stays.
            with self._deadline.reserving(self._reserve):
                events = self._feed.list_v2_events(
                    project_id,
                    endpoint_id,
                    self._api_key(),
                    min_level=EventLevel.WARN.value,
                    since=since,
                    limit=EVENTS_ASKED,
                )
            return reason_lines(events, deployment_ids)
        except Exception as exc:  # the reason is optional: nothing about it may stop the notice
            error = getattr(exc, "code", None) or type(exc).__name__
            logger.warning(
                "events feed unavailable; the notice goes out without a reason", extra={**where, "error": error}
            )
            return ()
