"""What a sweep checks: the targets' alert keys in order, and the v2 endpoints a list already brought.

For "all", v1 ids come from the v1 listing (until Together says v1 is retired)
and v2 endpoints from their projects' list pages, which cost no call of their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.endpoint_ref import EndpointRef, EndpointRefError, parse_endpoint_ref
from endpoint_relay.core.errors import RelayError, V1RetiredError

logger = logging.getLogger(__name__)


class V1Retirement:
    """Whether Together has said v1 is gone; said once per container, then v1 is left alone."""

    def __init__(self) -> None:
        self._retired = threading.Event()

    @property
    def retired(self) -> bool:
        return self._retired.is_set()

    def note(self, exc: V1RetiredError) -> None:
        if not self._retired.is_set():
            self._retired.set()
            logger.warning("Together's v1 endpoint API is retired; sweeping v2 alone", extra={"why": exc.message})


def sweep_targets(
    chosen: Sequence[str] | None,
    *,
    default_project: str | None,
    list_v1_ids: Callable[[], Sequence[str]],
    list_v2: Callable[[], Mapping[str, Listed]],
) -> tuple[list[str], Mapping[str, Listed]]:
    """The targets' keys in order, and the v2 endpoints a list already brought (for "all", or None)."""
    listed: Mapping[str, Listed] = {}
    if chosen is None or tuple(chosen) == ("all",):
        try:
            listed = list_v2()
            chosen = (*list_v1_ids(), *listed)
        except RelayError as exc:
            # Nothing can be checked; failing the invocation lets the scheduler retry, and the
            # missing heartbeat raises the "sweeps stopped" alarm if it persists.
            logger.error("listing the dedicated endpoints failed", extra={"error_code": exc.code, "why": exc.message})
            raise
    # Keep the order, drop repeats: a duplicated id must not be checked twice at once.
    keys = (target_key(target.strip(), default_project) for target in chosen if target.strip())
    return list(dict.fromkeys(keys)), listed


def v1_ids(list_endpoint_ids: Callable[[], Sequence[str]], v1: V1Retirement) -> Sequence[str]:
    """Every v1 id, or none once Together has said v1 is retired."""
    if v1.retired:
        return ()
    try:
        return list_endpoint_ids()
    except V1RetiredError as exc:
        v1.note(exc)
        return ()


def target_key(target: str, default_project: str | None) -> str:
    """``ep_…`` as ``proj_…/ep_…`` (one alert key, one check); other text as given."""
    try:
        return parse_endpoint_ref(target, default_project).key
    except EndpointRefError:
        return target  # its check reports it as invalid


def alert_ref(key: str) -> EndpointRef | None:
    """The endpoint an alert key names: a v1 id or ``proj_…/ep_…``; None for anything else."""
    try:
        ref = parse_endpoint_ref(key, default_project=None)
    except EndpointRefError:
        return None
    return None if ref.is_v2 and ref.project_id is None else ref


def rotated(endpoint_ids: list[str], start: str | None) -> list[str]:
    """The ids starting from ``start`` (where the last sweep stopped), wrapping around."""
    if start is None or start not in endpoint_ids:
        return endpoint_ids
    at = endpoint_ids.index(start)
    return endpoint_ids[at:] + endpoint_ids[:at]
