"""Money arithmetic: integer cents in, dollars with two decimals out, rounding half up once at the edge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from endpoint_relay.core.cost import Spend, not_serving_note, v1_spend
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.money import (
    cents_per_hour_from_per_minute,
    cost_over_minutes,
    dollars,
    per_day,
    per_hour,
    replicas_cost,
)
from endpoint_relay.core.prices import FixedPrices, PriceBook


def test_three_replicas_at_3192_cents_bill_95_76_an_hour() -> None:
    assert per_hour(replicas_cost(3, 3192) or 0) == "$95.76/h"


def test_dollars_are_exact_for_integer_cents() -> None:
    assert dollars(0) == "$0.00"
    assert dollars(5) == "$0.05"
    assert dollars(100) == "$1.00"
    assert dollars(123456789) == "$1,234,567.89"
    assert dollars(-250) == "-$2.50"
    assert per_day(349) == "$83.76/day"


@given(st.lists(st.integers(min_value=0, max_value=10_000_000), max_size=1000))
def test_a_total_is_the_sum_of_its_cents_with_no_float_drift(prices: list[int]) -> None:
    total = sum(prices)
    whole, part = divmod(total, 100)
    assert dollars(total) == f"${whole:,}.{part:02d}"


def test_a_fraction_of_a_cent_rounds_half_up_once() -> None:
    assert cost_over_minutes(349, 60) == 349
    assert cost_over_minutes(1, 30) == 1  # half a cent rounds up
    assert cost_over_minutes(1, 29) == 0
    assert cost_over_minutes(3192 * 3, 24 * 60) == 229824
    assert cost_over_minutes(349, 90) == 524  # 523.5 rounds up


def test_v1_per_minute_prices_convert_through_their_decimal_text() -> None:
    assert cents_per_hour_from_per_minute(5.8167) == 349  # 349.002
    assert cents_per_hour_from_per_minute(0.1) == 6  # binary 0.1 * 60 would be 6.000000000000001
    assert cents_per_hour_from_per_minute(1.175) == 71  # 70.5 rounds half up
    assert cents_per_hour_from_per_minute(53.2) == 3192
    assert cents_per_hour_from_per_minute(7) == 420
    unusable_values: tuple[object, ...] = (None, True, -1, "abc", float("nan"), float("inf"), [], {})
    for unusable in unusable_values:
        assert cents_per_hour_from_per_minute(unusable) is None


def test_unknown_prices_read_as_unknown_never_as_free() -> None:
    book = PriceBook.from_v2_catalogue(
        {
            "data": [
                {"id": "known", "priceCentsPerHour": 3192},
                {"id": "as-string", "priceCentsPerHour": "698"},
                {"id": "missing"},
                {"id": "negative", "priceCentsPerHour": -1},
                {"id": "boolean", "priceCentsPerHour": True},
                {"id": "float", "priceCentsPerHour": 1.5},
                "not an object",
            ]
        }
    )
    assert book.cents_per_hour == {"known": 3192, "as-string": 698}
    assert book.price_of(None) is None
    assert replicas_cost(2, book.price_of("missing")) is None
    assert replicas_cost(0, None) == 0  # nothing held costs nothing, price or not
    spend = Spend("missing", 2, None, max_replicas=4)
    assert spend.now_cents is None
    assert spend.text() == "price unknown (missing)"
    broken_documents: tuple[object, ...] = (None, [], {"data": None}, {"data": "x"})
    for broken in broken_documents:
        assert PriceBook.from_v2_catalogue(broken).cents_per_hour == {}
        assert PriceBook.from_v1_hardware(broken).cents_per_hour == {}


def test_the_v1_hardware_list_reads_as_the_sdk_2_types_it() -> None:
    book = PriceBook.from_v1_hardware(
        {
            "object": "list",
            "data": [
                {"id": "2x_nvidia_h100_80gb_sxm", "object": "hardware", "pricing": {"cents_per_minute": 11.6333}},
                {"id": "no-pricing", "object": "hardware"},
            ],
        }
    )
    assert FixedPrices(v1=book).cents_per_hour("2x_nvidia_h100_80gb_sxm", v1=True) == 698
    assert FixedPrices(v1=book).cents_per_hour("2x_nvidia_h100_80gb_sxm") is None  # v2 catalogue is separate
    assert FixedPrices(v1=book).cents_per_hour("no-pricing", v1=True) is None


def test_spend_shows_the_ceiling_only_where_it_differs() -> None:
    assert Spend("h", 3, 3192, max_replicas=3).text() == "$95.76/h"
    assert Spend("h", 3, 3192, max_replicas=5).text() == "$95.76/h, up to $159.60/h at 5 replicas"
    assert Spend("h", 0, 3192, max_replicas=2).text() == "$0.00/h, up to $63.84/h at 2 replicas"


def test_a_v1_endpoint_counts_its_minimum_while_not_stopped() -> None:
    def v1(state: str) -> V1Endpoint:
        return V1Endpoint.from_dict(
            {
                "object": "endpoint",
                "id": "endpoint-1",
                "name": "n",
                "display_name": "d",
                "model": "m",
                "hardware": "2x_nvidia_h100_80gb_sxm",
                "type": "dedicated",
                "owner": "o",
                "state": state,
                "autoscaling": {"min_replicas": 2, "max_replicas": 4},
                "created_at": "2026-01-01T00:00:00Z",
            }
        )

    assert v1_spend(v1("STARTED"), 698).text() == "at least $13.96/h, up to $27.92/h at 4 replicas"
    assert v1_spend(v1("STOPPED"), 698).now_cents == 0


def test_a_failed_or_degraded_deployment_holding_replicas_says_it_pays_for_nothing_served() -> None:
    held = Spend("h", 3, 3192)
    assert not_serving_note("DEPLOYMENT_STATE_FAILED", held) == (
        "failed, yet still holds 3 replica(s) billing $95.76/h that do not serve"
    )
    assert not_serving_note("DEPLOYMENT_STATE_DEGRADED", Spend("h", 1, None)) == (
        "degraded, yet still holds 1 replica(s) billing an unknown price that do not serve"
    )
    assert not_serving_note("DEPLOYMENT_STATE_FAILED", Spend("h", 0, 3192)) is None
    assert not_serving_note("DEPLOYMENT_STATE_READY", held) is None
