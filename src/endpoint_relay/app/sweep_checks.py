"""One sweep check: fetch Together's current answer for a target and record its alert state.

A failure is reported in the check, never raised, except a deadline overrun,
which the runner turns into a skip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from endpoint_relay.app.idle_spend import IdleSpend
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.alert_preload import PreloadedAlert
from endpoint_relay.core.alerting import EndpointCheck
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.endpoint_ref import EndpointRef
from endpoint_relay.core.errors import DeadlineExceededError, EndpointNotFoundError, RelayError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.policy import Finding
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_request import endpoint_request
from endpoint_relay.core.v2_resources import V2Source, v2_resource

logger = logging.getLogger(__name__)


def check_v1(
    lookups: LookupService, recorder: DecisionRecorder, endpoint_id: str, stored: PreloadedAlert | None
) -> Recorded:
    # A sweep must see Together's current answer, and leaves it in the cache for lookups.
    result = _current(endpoint_id, lambda: lookups.lookup(endpoint_id, force_refresh=True))
    if isinstance(result, Recorded):
        return result
    if result.status is CacheStatus.STALE:
        return failed(endpoint_id, result.endpoint.state, "Together failed; a stale copy is not evaluated")
    endpoint = result.endpoint
    return _recorded(endpoint_id, endpoint.state, lambda: recorder.record(endpoint, stored=stored))


def check_v2(
    lookups: LookupService,
    recorder: DecisionRecorder,
    v2_source: V2Source | None,
    ref: EndpointRef,
    stored: PreloadedAlert | None,
    listed: Listed | None,
    idle: IdleSpend | None = None,
) -> Recorded:
    """A ``proj_…/ep_…`` target, from ``listed`` when a list brought it, else fetched through ``v2_source``.

    With ``idle``, the sweep also judges idle spend (a lookup never does: it carries the last verdict on).
    """
    key, project_id = ref.key, cast(str, ref.project_id)
    if listed is not None:
        endpoint = listed.endpoint
    elif v2_source is None:
        return failed(key, None, "v2 endpoints are not swept by this function")
    else:
        # As v1: Together's current answer, left in the cache for lookups.
        resource = v2_resource(v2_source, endpoint_request(project_id, ref.endpoint_id))
        result = _current(key, lambda: lookups.fetch(resource, force_refresh=True))
        if isinstance(result, Recorded):
            return result
        if result.status is CacheStatus.STALE:
            return failed(key, None, "Together failed; a stale copy is not evaluated")
        endpoint = cast(V2Endpoint, result.value)
    verdict = None if idle is None else _idle_verdict(idle, recorder, key, project_id, endpoint)
    return _recorded(key, None, lambda: recorder.record_v2(endpoint, project_id, stored=stored, idle=verdict))


def _idle_verdict(
    idle: IdleSpend, recorder: DecisionRecorder, key: str, project_id: str, endpoint: V2Endpoint
) -> tuple[Finding, ...] | None:
    """The sweep's idle findings, or None (the last verdict carries on) when they cannot be had."""
    try:
        return idle.findings(endpoint, project_id, recorder.expected_v2(project_id, endpoint.id).idle_after_hours)
    except DeadlineExceededError:
        raise
    except Exception:  # idle spend must never cost the endpoint its other findings
        logger.exception("idle check failed unexpectedly", extra={"endpoint_id": key})
        return None


def _current[R](key: str, fetch: Callable[[], R]) -> R | Recorded:
    """``fetch()``'s answer, or the failed check it ended in; only a deadline overrun is raised."""
    try:
        return fetch()
    except EndpointNotFoundError:
        return failed(key, None, "endpoint not found")
    except DeadlineExceededError:
        raise
    except RelayError as exc:
        return failed(key, None, _error_text(exc))
    except Exception:  # one endpoint's surprise must not abort the sweep
        logger.exception("endpoint check failed unexpectedly", extra={"endpoint_id": key})
        return failed(key, None, "internal error")


def _recorded(key: str, state: str | None, record: Callable[[], Recorded]) -> Recorded:
    try:
        return record()
    except DeadlineExceededError:
        raise
    except RelayError as exc:
        return failed(key, state, _error_text(exc))


def _error_text(exc: RelayError) -> str:
    return f"{exc.code or 'error'}: {exc.message}"


def failed(endpoint_id: str, state: str | None, error: str) -> Recorded:
    logger.warning("endpoint check failed", extra={"endpoint_id": endpoint_id[:120], "error": error})
    return Recorded(EndpointCheck(endpoint_id, state, (), error=error))
