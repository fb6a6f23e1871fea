"""What a notice or a status reply says an endpoint costs: per deployment, and for the endpoint.

A notice freezes each replica's price when it is issued (:func:`priced`); the
renderers read the cost back from the snapshot (:func:`endpoint_cost`).
"""

from __future__ import annotations

from dataclasses import replace

from endpoint_relay.core.alerting import EndpointSnapshot
from endpoint_relay.core.cost import Spend, v1_spend_of
from endpoint_relay.core.cost_words import total_words
from endpoint_relay.core.money import per_hour
from endpoint_relay.core.prices import Prices


def endpoint_spends(endpoint: EndpointSnapshot) -> list[Spend]:
    """v2: each deployment the notice names; v1: the endpoint at its ``min_replicas`` (it reports no count)."""
    if endpoint.project_id is not None:
        return [deployment.spend for deployment in endpoint.deployments]
    spend = v1_spend_of(
        endpoint.state, endpoint.hardware, endpoint.min_replicas, endpoint.max_replicas, endpoint.price_cents_per_hour
    )
    return [spend]


def endpoint_cost(endpoint: EndpointSnapshot) -> str:
    """The endpoint's cost line; a v2 endpoint with no deployment named bills nothing the notice knows of."""
    spends = endpoint_spends(endpoint)
    return total_words(spends) if spends else per_hour(0)


def priced(endpoint: EndpointSnapshot, prices: Prices) -> EndpointSnapshot:
    """The snapshot with today's price of each replica frozen in (``prices`` never raises)."""
    if endpoint.project_id is not None:
        deployments = tuple(
            replace(deployment, price_cents_per_hour=prices.cents_per_hour(deployment.hardware))
            for deployment in endpoint.deployments
        )
        return replace(endpoint, deployments=deployments)
    return replace(endpoint, price_cents_per_hour=prices.cents_per_hour(endpoint.hardware or None, v1=True))
