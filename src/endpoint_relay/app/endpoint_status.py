"""One endpoint's status for Slack, v1 or v2, read through the lookup tiers and judged by the policy.

The endpoint is named by its canonical key (a v1 id or ``proj_…/ep_…``), as the
command parser produced it. A v2 endpoint's reply lists the deployments it
embeds (Together embeds up to 10, the most a reply shows), so one upstream
call answers it. A real retrieval feeds the alert lifecycle, as a lookup does;
a cached answer is only evaluated; a ``check`` always retrieves afresh and
records and delivers what the policy says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.core import slack_replies
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.endpoint_ref import EndpointRef, EndpointRefError, parse_endpoint_ref
from endpoint_relay.core.errors import NotFoundError, RelayError, UpstreamError
from endpoint_relay.core.lookup import Cached, LookupService
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Finding
from endpoint_relay.core.prices import FixedPrices, Prices
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_request import endpoint_request
from endpoint_relay.core.v2_resources import V2Source, v2_resource

logger = logging.getLogger(__name__)

_RETRIEVED = (CacheStatus.MISS, CacheStatus.REFRESH)


@dataclass(kw_only=True, slots=True, eq=False)
class EndpointStatus:
    lookups: LookupService
    v2_source: V2Source
    alerts: LookupAlerts
    mutes: Mutes
    projects: frozenset[str]
    """The v2 projects the relay serves; a key in any other is refused before any call."""
    prices: Prices = field(default_factory=FixedPrices)
    """What a replica costs: a reply that fetched may call upstream for it; one from the cache only reads what is
    at hand (``fresh_only``), and makes no network call."""

    def cached(self, key: str) -> slack_replies.Reply | None:
        """The answer from a fresh local cache entry, or None when it needs an upstream call."""
        ref = self._ref(key)
        if ref is None:
            return _not_served(key)
        try:
            if ref.project_id is not None:
                hit = self.lookups.fresh(v2_resource(self.v2_source, endpoint_request(ref.project_id, ref.endpoint_id)))
                if hit is None:
                    return None
                return self._v2_reply(ref.project_id, key, hit, self.prices.fresh_only(), retrieved=False)
            cached = self.lookups.cached(key)
        except NotFoundError:  # a fresh, remembered 404
            return slack_replies.not_found_reply(key)
        if cached is None:
            return None
        findings = self.alerts.judge(cached.endpoint, retrieved=False)
        return self._v1_reply(key, cached.endpoint, findings, cached.age, self.prices.fresh_only())

    def fetched(self, key: str, *, check: bool = False) -> slack_replies.Reply:
        """Through the tiers (``check``: from Together, afresh); a real retrieval records and delivers findings."""
        ref = self._ref(key)
        if ref is None:
            return _not_served(key)
        try:
            if ref.project_id is not None:
                request = endpoint_request(ref.project_id, ref.endpoint_id)
                result = self.lookups.fetch(v2_resource(self.v2_source, request), force_refresh=check)
            else:
                found = self.lookups.lookup(key, force_refresh=check)
        except NotFoundError:
            return slack_replies.not_found_reply(key)
        except UpstreamError as exc:
            return slack_replies.failure_reply(f"Together gave no usable answer for {key}: {exc.message}")
        except RelayError as exc:
            return slack_replies.failure_reply(f"The relay could not look up {key}: {exc.message}")
        try:
            if ref.project_id is not None:
                return self._v2_reply(ref.project_id, key, result, self.prices, retrieved=result.status in _RETRIEVED)
            findings = self.alerts.judge(found.endpoint, retrieved=found.status in _RETRIEVED)
        except RelayError as exc:
            logger.error("evaluating the policy failed", extra={"error_code": exc.code, "error": type(exc).__name__})
            return slack_replies.failure_reply(
                f"The relay found {key} but could not evaluate its policy; the alerting setup needs a look."
            )
        return self._v1_reply(key, found.endpoint, findings, found.age, self.prices)

    def _v1_reply(
        self, key: str, endpoint: Endpoint, findings: Sequence[Finding], age: int, prices: Prices
    ) -> slack_replies.Reply:
        return slack_replies.status_reply(
            endpoint,
            findings,
            age_seconds=age,
            muted_until=muted_until(self.mutes, key),
            price_cents_per_hour=prices.cents_per_hour(endpoint.hardware or None, v1=True),
        )

    def _v2_reply(
        self, project_id: str, key: str, result: Cached[V2Endpoint], prices: Prices, *, retrieved: bool
    ) -> slack_replies.Reply:
        endpoint = result.value
        findings = self.alerts.judge_v2(project_id, endpoint, retrieved=retrieved)
        return slack_replies.v2_status_reply(
            endpoint,
            None,
            findings,
            age_seconds=result.age,
            muted_until=muted_until(self.mutes, key),
            prices=prices,
        )

    def _ref(self, key: str) -> EndpointRef | None:
        """The key's endpoint; None for a v2 project the relay does not serve (the worker checks again)."""
        try:
            ref = parse_endpoint_ref(key, default_project=None)
        except EndpointRefError:
            return None
        if ref.is_v2 and ref.project_id not in self.projects:
            return None
        return ref


def muted_until(mutes: Mutes, key: str) -> float | None:
    """When the endpoint's mute ends, or None; a status answer is worth more than its mute flag."""
    try:
        return mutes.muted_until(key)
    except RelayError as exc:  # no state table (no mutes to show) or the store is unavailable
        logger.warning("mute state unavailable", extra={"endpoint_id": key, "error": type(exc).__name__})
        return None


def _not_served(key: str) -> slack_replies.Reply:
    logger.warning("a Slack status named an endpoint the relay does not serve", extra={"endpoint_id": key[:200]})
    return slack_replies.failure_reply("This relay does not serve that endpoint's project.")
