"""Prices read from the simulator's two catalogues over real HTTP: the v1 hardware list and the v2 instance types."""

from __future__ import annotations

import json

import pytest

from devstack.together_sim import Fault, TogetherSimulator, make_hardware
from devstack.together_v2_docs import make_instance_type
from endpoint_relay.adapters.together import TogetherClient
from endpoint_relay.app.price_catalogue import PRICE_POLICY, CataloguePrices
from endpoint_relay.core import errors
from endpoint_relay.core.cache import LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.settings import UpstreamSettings
from tests.fakes import FakeClock, FakeSecrets

pytestmark = pytest.mark.integration

KEY = "sim-together-key"
HARDWARE_LIST = "<hardware>"
CATALOGUE = "/v2/public/inference-instance-types"


def _client(sim: TogetherSimulator) -> TogetherClient:
    settings = UpstreamSettings(
        base_url=sim.base_url, connect_timeout=0.5, read_timeout=0.5, max_retries=1, backoff_factor=0.0
    )
    return TogetherClient(settings)


def _prices(sim: TogetherSimulator, clock: FakeClock) -> CataloguePrices:
    client = _client(sim)
    lookups = LookupService(
        upstream=client, secrets=FakeSecrets(KEY), policy=PRICE_POLICY, local=LocalCache(), clock=clock
    )
    return CataloguePrices(lookups, client, clock=clock)


def test_the_v1_hardware_list_has_the_sdk_2_shape(together: TogetherSimulator) -> None:
    document = json.loads(_client(together).list_v1_hardware(KEY))
    assert document["object"] == "list"
    item = next(item for item in document["data"] if item["id"] == "2x_nvidia_h100_80gb_sxm")
    assert item["object"] == "hardware" and isinstance(item["pricing"]["cents_per_minute"], float)
    assert set(item["specs"]) == {"gpu_count", "gpu_link", "gpu_memory", "gpu_type"}
    assert together.call_count(HARDWARE_LIST) == 1


def test_the_hardware_list_maps_refusals_like_any_v1_call(together: TogetherSimulator) -> None:
    client = _client(together)
    together.inject(Fault(status=503), Fault(status=503))
    with pytest.raises(errors.UpstreamUnavailableError):
        client.list_v1_hardware(KEY)
    with pytest.raises(errors.UpstreamAuthError):
        client.list_v1_hardware("tgp-wrong-key")


def test_prices_from_both_catalogues_each_read_once(together: TogetherSimulator) -> None:
    together.put_hardware(make_hardware("4x_nvidia_h100_80gb_sxm", cents_per_minute=53.2))
    together.v2.put_instance_type(make_instance_type("3xnvidia-h100-80gb", gpu_count=3, price_cents_per_hour=3192))
    clock = FakeClock()
    prices = _prices(together, clock)
    # A v2 price reads only the instance-type catalogue
    assert prices.cents_per_hour("3xnvidia-h100-80gb") == 3192
    assert prices.cents_per_hour("1xnvidia-h100-80gb") == 349
    assert (together.call_count(CATALOGUE), together.call_count(HARDWARE_LIST)) == (1, 0)
    # v1: 53.2 cents a minute is 3192 cents an hour
    assert prices.cents_per_hour("4x_nvidia_h100_80gb_sxm", v1=True) == 3192
    assert prices.cents_per_hour("no_such_hardware", v1=True) is None
    assert (together.call_count(CATALOGUE), together.call_count(HARDWARE_LIST)) == (1, 1)
    # Within the hour nothing is read again
    clock.advance(1800)
    assert prices.cents_per_hour("3xnvidia-h100-80gb", v1=False) == 3192
    assert prices.cents_per_hour("4x_nvidia_h100_80gb_sxm", v1=True) == 3192
    assert (together.call_count(CATALOGUE), together.call_count(HARDWARE_LIST)) == (1, 1)


def test_an_unreadable_catalogue_entry_hides_only_its_own_price(together: TogetherSimulator) -> None:
    # Regression: the v2 catalogue was first parsed strictly, so one entry without a usable id (or with an
    # unreadable price) failed the whole page and every v2 price read as unknown.
    together.v2.put_instance_type(make_instance_type("3xnvidia-h100-80gb", gpu_count=3, price_cents_per_hour=3192))
    together.v2.put_instance_type({**make_instance_type("unnamed", gpu_count=1, price_cents_per_hour=1), "id": ""})
    together.v2.put_instance_type({**make_instance_type("8xnvidia-b200", gpu_count=8), "priceCentsPerHour": "7200"})
    prices = _prices(together, FakeClock())
    assert prices.cents_per_hour("3xnvidia-h100-80gb") == 3192
    assert prices.cents_per_hour("8xnvidia-b200") == 7200  # an Int64 sent as a string, as proto3 JSON may
    assert together.call_count(CATALOGUE) == 1


@pytest.mark.parametrize(
    "fault",
    [Fault(status=500), Fault(status=200, body=b"<html>maintenance</html>"), Fault(reset_connection=True)],
)
def test_an_upstream_failure_reads_as_unknown(together: TogetherSimulator, fault: Fault) -> None:
    together.inject(fault, fault)
    prices = _prices(together, FakeClock())
    assert prices.cents_per_hour("2x_nvidia_h100_80gb_sxm", v1=True) is None
