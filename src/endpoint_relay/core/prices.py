"""Prices per replica-hour by hardware id, read from Together's two catalogues.

- v2: ``GET /v2/public/inference-instance-types`` gives ``priceCentsPerHour``
  for each instance type; a deployment's ``hardware`` names one.
- v1: ``GET /v1/hardware`` gives ``pricing.cents_per_minute`` for each hardware
  id (the SDK 2.x ``EndpointListHardwareResponse``); a v1 endpoint's
  ``hardware`` names one.

A catalogue entry without a usable price is left out, so it reads as "price
unknown" rather than as free. Pure: the adapters fetch, these parse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from endpoint_relay.core.money import cents_per_hour_from_per_minute


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Whole US cents per replica-hour, by hardware id."""

    cents_per_hour: Mapping[str, int] = field(default_factory=dict)

    def price_of(self, hardware: str | None) -> int | None:
        return self.cents_per_hour.get(hardware) if hardware else None

    @classmethod
    def from_v2_catalogue(cls, document: Any) -> PriceBook:
        """The instance-type list (``{"data": [{"id", "priceCentsPerHour", ...}]}``); unusable entries are skipped."""
        prices: dict[str, int] = {}
        for item in _items(document):
            price = item.get("priceCentsPerHour")
            # An Int64 may arrive as a string under the proto3 JSON mapping; read both.
            if isinstance(price, str) and price.isdigit():
                price = int(price)
            if (
                isinstance(item.get("id"), str)
                and isinstance(price, int)
                and not isinstance(price, bool)
                and price >= 0
            ):
                prices[item["id"]] = price
        return cls(prices)

    @classmethod
    def from_v1_hardware(cls, document: Any) -> PriceBook:
        """The v1 hardware list (``{"data": [{"id", "pricing": {"cents_per_minute"}, ...}]}``)."""
        prices: dict[str, int] = {}
        for item in _items(document):
            pricing = item.get("pricing")
            price = (
                cents_per_hour_from_per_minute(pricing.get("cents_per_minute")) if isinstance(pricing, dict) else None
            )
            if isinstance(item.get("id"), str) and price is not None:
                prices[item["id"]] = price
        return cls(prices)


def _items(document: Any) -> list[dict[str, Any]]:
    data = document.get("data") if isinstance(document, dict) else None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


class Prices(Protocol):
    """Where the application asks for a price; it never raises (an unreachable catalogue reads as unknown)."""

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        """One replica of ``hardware`` per hour, from the v2 catalogue (or the v1 list); ``None`` when unknown."""
        ...

    def fresh_only(self) -> Prices:
        """The same prices, limited to what needs no network call (a reply inside Slack's 3 seconds)."""
        ...


@dataclass(frozen=True, slots=True)
class FixedPrices:
    """Prices known up front: the tests', and the stand-in when no catalogue can be read."""

    v2: PriceBook = field(default_factory=PriceBook)
    v1: PriceBook = field(default_factory=PriceBook)

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        return (self.v1 if v1 else self.v2).price_of(hardware)

    def fresh_only(self) -> Prices:
        return self  # known up front: never a network call


class LazyPrices:
    """Prices built on the first question: holding one costs nothing until a price is needed.

    ``build`` is a cached factory (``Shared.prices``), so this keeps no copy of its own.
    """

    def __init__(self, build: Callable[[], Prices]) -> None:
        self._build = build

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        return self._build().cents_per_hour(hardware, v1=v1)

    def fresh_only(self) -> Prices:
        return LazyPrices(lambda: self._build().fresh_only())
