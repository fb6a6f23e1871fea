"""CataloguePrices over LookupService with in-memory catalogues: caching, lazy reads, log-once, failure = unknown."""

from __future__ import annotations

import json
import logging

import pytest

from endpoint_relay.app.price_catalogue import PRICE_POLICY, CataloguePrices
from endpoint_relay.core import errors
from endpoint_relay.core.cache import LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.prices import FixedPrices, PriceBook
from tests.fakes import FakeClock, FakeSecrets

V2_BODY = json.dumps(
    {
        "object": "list",
        "data": [
            {"id": "2xnvidia-h100-80gb", "priceCentsPerHour": 3192},
            {"id": "1xnvidia-h100-80gb", "priceCentsPerHour": "349"},
            {"id": "no-price"},
        ],
        "next_cursor": None,
    }
)
V1_BODY = json.dumps(
    {
        "object": "list",
        "data": [
            {"id": "2x_nvidia_h100_80gb_sxm", "object": "hardware", "pricing": {"cents_per_minute": 5.8167}},
            {"id": "broken", "object": "hardware", "pricing": {"cents_per_minute": "lots"}},
        ],
    }
)


class Catalogues:
    """Together's two price lists, counted, with failures scripted in order."""

    def __init__(self) -> None:
        self.v2_body = V2_BODY
        self.v1_body = V1_BODY
        self.calls: list[str] = []
        self.failures: list[Exception] = []

    def _answer(self, which: str, body: str) -> str:
        self.calls.append(which)
        if self.failures:
            raise self.failures.pop(0)
        return body

    def instance_types_body(self, api_key: str) -> str:
        return self._answer("v2", self.v2_body)

    def list_v1_hardware(self, api_key: str) -> str:
        return self._answer("v1", self.v1_body)

    def get_endpoint(self, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        raise AssertionError("prices never look an endpoint up")


def _prices(catalogues: Catalogues, clock: FakeClock) -> CataloguePrices:
    lookups = LookupService(
        upstream=catalogues, secrets=FakeSecrets(), policy=PRICE_POLICY, local=LocalCache(), clock=clock
    )
    return CataloguePrices(lookups, catalogues, clock=clock)


def test_prices_come_from_each_catalogue_read_once_an_hour() -> None:
    catalogues, clock = Catalogues(), FakeClock()
    prices = _prices(catalogues, clock)
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192
    assert prices.cents_per_hour("1xnvidia-h100-80gb") == 349
    # Only the v2 catalogue was read: a v2-only fleet never asks for the v1 list
    assert catalogues.calls == ["v2"]
    # v1: cents a minute, through its decimal text, half up (5.8167 * 60 = 349.002 -> 349)
    assert prices.cents_per_hour("2x_nvidia_h100_80gb_sxm", v1=True) == 349
    assert catalogues.calls == ["v2", "v1"]
    clock.advance(3599)
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192
    assert catalogues.calls == ["v2", "v1"]
    # After the hour, the next ask reads the catalogue again
    catalogues.v2_body = V2_BODY.replace("3192", "3200")
    clock.advance(2)
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3200
    assert catalogues.calls == ["v2", "v1", "v2"]


def test_no_hardware_named_is_unknown_without_a_read() -> None:
    catalogues = Catalogues()
    prices = _prices(catalogues, FakeClock())
    assert prices.cents_per_hour(None) is None
    assert prices.cents_per_hour("") is None
    assert catalogues.calls == []


def test_unpriced_hardware_is_unknown_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    prices = _prices(Catalogues(), FakeClock())
    with caplog.at_level(logging.WARNING, logger="endpoint_relay.app.price_catalogue"):
        for _ in range(3):
            assert prices.cents_per_hour("no-price") is None
            assert prices.cents_per_hour("8xnvidia-b200") is None
            assert prices.cents_per_hour("broken", v1=True) is None
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 3
    assert any("'no-price'" in line for line in warnings)
    assert any("'8xnvidia-b200'" in line for line in warnings)
    assert any("'broken'" in line and "v1" in line for line in warnings)


@pytest.mark.parametrize(
    "failure",
    [
        errors.UpstreamUnavailableError("Together answered 503"),
        errors.UpstreamTimeoutError("Together did not answer in time"),
        errors.InvalidUpstreamResponseError("unreadable"),
        errors.DeadlineExceededError("no time left"),
        errors.NotFoundError("no list", param=None),
    ],
)
def test_a_failed_read_is_unknown_and_not_retried_at_once(failure: Exception, caplog: pytest.LogCaptureFixture) -> None:
    catalogues, clock = Catalogues(), FakeClock()
    catalogues.failures = [failure]
    prices = _prices(catalogues, clock)
    with caplog.at_level(logging.WARNING, logger="endpoint_relay.app.price_catalogue"):
        assert prices.cents_per_hour("2xnvidia-h100-80gb") is None
        assert prices.cents_per_hour("1xnvidia-h100-80gb") is None
    assert catalogues.calls == ["v2"]
    assert any("prices unavailable" in record.getMessage() for record in caplog.records)
    # Later (a remembered 404 keeps for the negative TTL) it is read again, and prices are known
    clock.advance(PRICE_POLICY.negative_ttl + 1)
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192


@pytest.mark.parametrize("body", ["<html>busy</html>", "[]", '{"data": {}}', "[" * 100_000])
def test_an_unreadable_catalogue_is_unknown(body: str) -> None:
    catalogues = Catalogues()
    catalogues.v1_body = body
    prices = _prices(catalogues, FakeClock())
    assert prices.cents_per_hour("2x_nvidia_h100_80gb_sxm", v1=True) is None


def test_a_stale_catalogue_is_served_when_together_fails() -> None:
    catalogues, clock = Catalogues(), FakeClock()
    prices = _prices(catalogues, clock)
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192
    clock.advance(3601)
    catalogues.failures = [errors.UpstreamUnavailableError("Together answered 503")]
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192
    assert catalogues.calls == ["v2", "v2"]


def test_an_unexpected_error_is_unknown_not_raised() -> None:
    catalogues = Catalogues()
    catalogues.failures = [RuntimeError("bug")]
    assert _prices(catalogues, FakeClock()).cents_per_hour("2xnvidia-h100-80gb") is None


def test_fresh_only_prices_never_call_upstream() -> None:
    catalogues, clock = Catalogues(), FakeClock()
    prices = _prices(catalogues, clock)
    cached = prices.fresh_only()
    # Nothing read yet: unknown, and no call made
    assert cached.cents_per_hour("2xnvidia-h100-80gb") is None
    assert catalogues.calls == []
    # Once a notice read the catalogue, the cached view answers from memory until the hour is up
    assert prices.cents_per_hour("2xnvidia-h100-80gb") == 3192
    assert cached.cents_per_hour("2xnvidia-h100-80gb") == 3192
    clock.advance(3601)
    assert cached.cents_per_hour("2xnvidia-h100-80gb") is None
    assert catalogues.calls == ["v2"]
    # Prices known up front are their own cached view
    fixed = FixedPrices(v2=PriceBook({"x": 1}))
    assert fixed.fresh_only() is fixed
