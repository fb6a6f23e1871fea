"""The sweep's v2 listing: ⌈N/page⌉ page calls, each listed endpoint cached under its GET's key."""

from __future__ import annotations

import json
from typing import Any

from endpoint_relay.app.v2_listing import V2Listing, list_calls, page_size
from endpoint_relay.core.cache import CachePolicy, LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.v2_models import Endpoint, Page
from endpoint_relay.core.v2_request import endpoint_request
from tests.fakes import FakeSecrets, FakeUpstream


def _endpoint(index: int) -> dict[str, Any]:
    return {"id": f"ep_n{index:04d}", "trafficSplit": [], "deployments": []}


class Pages:
    def __init__(self, count: int) -> None:
        self.items = [_endpoint(index) for index in range(count)]
        self.calls: list[tuple[str, str | None, int | None]] = []

    def list_v2_endpoints_page(
        self, project_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Endpoint]]:
        self.calls.append((project_id, after, limit))
        start = int(after or 0)
        size = limit or 10
        chunk = self.items[start : start + size]
        more = start + size < len(self.items)
        body = json.dumps({"data": chunk, "next_cursor": str(start + size) if more else None})
        return body, Page.from_dict(json.loads(body), Endpoint.from_dict)


def test_page_size_fits_the_response_cap() -> None:
    assert page_size(1024 * 1024) == 102
    assert page_size(1_024) == 1
    assert list_calls(1_000, 102) == 10 and list_calls(0, 102) == 1


def test_listing_pages_through_and_caches_each_endpoint_under_its_get_key() -> None:
    pages = Pages(250)
    local = LocalCache()
    lookups = LookupService(
        upstream=FakeUpstream(), secrets=FakeSecrets(), policy=CachePolicy(60, 300, 30), local=local
    )
    listed = V2Listing(pages, FakeSecrets(), lookups, ["proj_a"], size=100)()
    assert len(pages.calls) == 3 == list_calls(250, 100)
    assert list(listed)[:2] == ["proj_a/ep_n0000", "proj_a/ep_n0001"] and len(listed) == 250
    entry = local.get(endpoint_request("proj_a", "ep_n0042").cache_key)
    assert entry is not None and entry.body is not None
    assert json.loads(entry.body) == _endpoint(42)


def test_a_listing_without_lookups_lists_the_same_endpoints_and_remembers_none() -> None:
    pages = Pages(250)
    listed = V2Listing(pages, FakeSecrets(), None, ["proj_a"], size=100)()
    assert len(pages.calls) == 3 and len(listed) == 250
    assert listed["proj_a/ep_n0042"].endpoint.id == "ep_n0042"


class CyclingPages:
    """A cursor that comes back after another one (``a`` -> ``b`` -> ``a`` ...): the listing never ends by itself."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def list_v2_endpoints_page(
        self, project_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Endpoint]]:
        self.calls.append(after)
        index = len(self.calls) % 2
        body = json.dumps({"data": [_endpoint(index)], "next_cursor": "b" if after == "a" else "a"})
        return body, Page.from_dict(json.loads(body), Endpoint.from_dict)


def test_a_cursor_seen_before_ends_the_listing_instead_of_costing_a_thousand_calls() -> None:
    pages = CyclingPages()
    listed = V2Listing(pages, FakeSecrets(), None, ["proj_a"], size=100)()
    assert pages.calls == [None, "a", "b"]
    assert sorted(listed) == ["proj_a/ep_n0000", "proj_a/ep_n0001"]


class GappedPages:
    """An empty page that still carries a cursor, then the endpoints."""

    def list_v2_endpoints_page(
        self, project_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Endpoint]]:
        document = {"data": [], "next_cursor": "more"} if after is None else {"data": [_endpoint(1)]}
        return json.dumps(document), Page.from_dict(document, Endpoint.from_dict)


def test_an_empty_page_with_a_cursor_is_followed() -> None:
    listed = V2Listing(GappedPages(), FakeSecrets(), None, ["proj_a"], size=100)()
    assert list(listed) == ["proj_a/ep_n0001"]
