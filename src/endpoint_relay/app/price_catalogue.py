"""Prices per replica-hour from Together's own catalogues, through the lookup tiers.

The v2 instance-type catalogue and the v1 hardware list are each one cached
resource, fetched the first time a price from it is asked for (a v2-only fleet
never reads ``/v1/hardware``) and then kept for :data:`PRICE_POLICY`'s hour, in
this container and in the shared tier. Nothing here raises: an upstream error,
an exhausted deadline or an unreadable body reads as "price unknown", and a
failed read is not retried for :data:`RETRY_AFTER_FAILURE_SECONDS`, so a notice
listing many deployments costs at most one attempt. Hardware the catalogue does
not price is logged once per container.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from endpoint_relay.core.cache import CachePolicy
from endpoint_relay.core.errors import InvalidUpstreamResponseError, NotFoundError, RelayError
from endpoint_relay.core.lookup import LookupService, Resource
from endpoint_relay.core.prices import PriceBook, Prices

logger = logging.getLogger(__name__)

PRICE_POLICY = CachePolicy(fresh_ttl=3600, stale_window=86_400, negative_ttl=300)
"""Prices change rarely: an hour fresh, and a day's old answer is better than none when Together fails."""
RETRY_AFTER_FAILURE_SECONDS = 60.0
V2_KEY = "prices/v2/public/inference-instance-types"
V1_KEY = "prices/v1/hardware"
"""Cache keys; no v1 endpoint id nor v2 request key (``v2/...``) starts with ``prices/``."""


class CatalogueSource(Protocol):
    def instance_types_body(self, api_key: str) -> str: ...

    def list_v1_hardware(self, api_key: str) -> str: ...


@dataclass
class _Catalogue:
    resource: Resource[PriceBook]
    lock: threading.Lock
    failed_at: float | None = None

    @classmethod
    def of(cls, key: str, body: Callable[[str], str], read: Callable[[Any], PriceBook]) -> _Catalogue:
        """The catalogue ``body(api_key)`` fetches, cached under ``key`` and read by ``read``."""
        resource = Resource(
            key=key,
            fetch=lambda api_key: _fetched(body(api_key), read),
            parse=lambda cached: _book(cached, read)[1],
            not_found=_no_catalogue,
        )
        return cls(resource, threading.Lock())


class CataloguePrices:
    """:class:`~endpoint_relay.core.prices.Prices` read from the v2 catalogue and the v1 hardware list."""

    def __init__(self, lookups: LookupService, source: CatalogueSource, *, clock: Callable[[], float] = time.monotonic):
        self._lookups = lookups
        self._clock = clock
        self._v2 = _Catalogue.of(V2_KEY, source.instance_types_body, PriceBook.from_v2_catalogue)
        self._v1 = _Catalogue.of(V1_KEY, source.list_v1_hardware, PriceBook.from_v1_hardware)
        self._reported: set[tuple[bool, str]] = set()
        self._reported_lock = threading.Lock()

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        if not hardware:
            return None
        book = self._book(self._v1 if v1 else self._v2)
        if book is None:
            return None  # the failed read was logged
        price = book.price_of(hardware)
        if price is None:
            self._report_unknown(hardware, v1=v1)
        return price

    def fresh_only(self) -> Prices:
        """The same prices, but only those this container holds fresh: never a network call (Slack's 3 seconds)."""
        return _FreshOnly(self)

    def _fresh_book(self, v1: bool) -> PriceBook | None:
        try:
            hit = self._lookups.fresh((self._v1 if v1 else self._v2).resource)
        except RelayError:  # a remembered 404
            return None
        return hit.value if hit is not None else None

    def _book(self, catalogue: _Catalogue) -> PriceBook | None:
        with catalogue.lock:  # one fetch per catalogue at a time; the sweep's workers wait for it
            now = self._clock()
            if catalogue.failed_at is not None and now - catalogue.failed_at < RETRY_AFTER_FAILURE_SECONDS:
                return None
            try:
                book = self._lookups.fetch(catalogue.resource).value
            except RelayError as exc:
                # Upstream errors, a remembered 404, no secret, an exhausted deadline: all read as unknown.
                logger.warning("prices unavailable from %s: %s", catalogue.resource.key, exc)
            except Exception:
                logger.exception("prices unavailable from %s", catalogue.resource.key)
            else:
                catalogue.failed_at = None
                return book
            catalogue.failed_at = now
            return None

    def _report_unknown(self, hardware: str, *, v1: bool) -> None:
        with self._reported_lock:
            if (v1, hardware) in self._reported:
                return
            self._reported.add((v1, hardware))
        source = "the v1 hardware list" if v1 else "the v2 instance-type catalogue"
        logger.warning("no known price for hardware %r in %s; shown as price unknown", hardware, source)


class _FreshOnly:
    def __init__(self, prices: CataloguePrices) -> None:
        self._prices = prices

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        book = self._prices._fresh_book(v1)
        return book.price_of(hardware) if book is not None else None

    def fresh_only(self) -> Prices:
        return self


def _book(body: str, read: Callable[[Any], PriceBook]) -> tuple[str, PriceBook]:
    """The body and its prices; a body that is not JSON is an unreadable answer (a ValueError)."""
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise ValueError("price catalogue nested too deeply") from exc
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise ValueError("price catalogue without a data list")
    return body, read(document)


def _fetched(body: str, read: Callable[[Any], PriceBook]) -> tuple[str, PriceBook]:
    try:
        return _book(body, read)
    except ValueError as exc:
        raise InvalidUpstreamResponseError("Together sent a price catalogue the relay cannot read") from exc


def _no_catalogue() -> NotFoundError:
    return NotFoundError("Together has no price catalogue here", param=None)
