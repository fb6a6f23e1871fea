"""Every v2 endpoint of the relay's projects, read page by page for a sweep; the pages also fill the lookup cache.

One list page carries each endpoint with its embedded deployment summaries, which is
all the v2 policy reads, so a sweep of N endpoints costs ⌈N/page⌉ calls instead of N
GETs. Each listed endpoint is cached under exactly the key a
``GET /v2/projects/{p}/endpoints/{id}`` lookup uses, so the next lookup is a hit.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from endpoint_relay.core.endpoint_ref import v2_key
from endpoint_relay.core.errors import InvalidUpstreamResponseError, UpstreamAuthError
from endpoint_relay.core.lookup import LookupService, SecretSource
from endpoint_relay.core.v2_ids import is_valid_v2_endpoint_id
from endpoint_relay.core.v2_models import Endpoint, Page
from endpoint_relay.core.v2_request import ENDPOINTS_MAX_LIMIT, endpoint_request

logger = logging.getLogger(__name__)

ENDPOINT_BYTES = 10_240
"""Room for one listed endpoint: with its 10 newest deployment summaries and ids of the spec's length it serialises
to about 6 KiB; the rest is for longer names and model paths."""
MAX_PAGES = 1_000
"""Pages of one project a sweep follows at most (a cursor that never ends must not hold the sweep)."""


def page_size(max_response_bytes: int) -> int:
    """The largest page that still fits the relay's response cap: 102 at the default 1 MiB.

    A page over the cap is refused whole, so the size is what the cap allows with room per endpoint, not the
    largest ``limit`` Together takes.
    """
    return max(1, min(ENDPOINTS_MAX_LIMIT, max_response_bytes // ENDPOINT_BYTES))


def list_calls(endpoints: int, size: int) -> int:
    """The list calls a sweep of ``endpoints`` makes in one project (at least one: an empty page)."""
    return max(1, math.ceil(endpoints / size))


class EndpointPages(Protocol):
    def list_v2_endpoints_page(
        self, project_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Endpoint]]: ...


@dataclass(frozen=True, slots=True)
class Listed:
    project_id: str
    endpoint: Endpoint


class V2Listing:
    def __init__(
        self,
        pages: EndpointPages,
        secrets: SecretSource,
        lookups: LookupService | None,
        projects: Sequence[str],
        *,
        size: int,
    ) -> None:
        """``lookups``: the tiers each listed endpoint is remembered in, for the next GET; None remembers none."""
        self._pages = pages
        self._secrets = secrets
        self._lookups = lookups
        self._projects = tuple(sorted(projects))
        self._size = size

    def __call__(self) -> dict[str, Listed]:
        """Each listed endpoint under its alert key (``proj_…/ep_…``); raises what a page's call raises."""
        listed: dict[str, Listed] = {}
        for project_id in self._projects:
            after: str | None = None
            seen: set[str] = set()
            for _ in range(MAX_PAGES):
                body, page = self._page(project_id, after)
                self._keep(project_id, body, page, listed)
                # A cursor seen before would list the same pages again, round and round.
                if page.next_cursor is None or page.next_cursor in seen:
                    break
                after = page.next_cursor
                seen.add(after)
            else:
                logger.warning("v2 endpoint list cut short", extra={"project_id": project_id, "pages": MAX_PAGES})
        return listed

    def _page(self, project_id: str, after: str | None) -> tuple[str, Page[Endpoint]]:
        try:
            key = self._secrets.get().together_api_key
            return self._pages.list_v2_endpoints_page(project_id, key, after=after, limit=self._size)
        except UpstreamAuthError:  # the key may have been rotated: re-read once, as lookups do
            key = self._secrets.get(force_refresh=True).together_api_key
            return self._pages.list_v2_endpoints_page(project_id, key, after=after, limit=self._size)

    def _keep(self, project_id: str, body: str, page: Page[Endpoint], listed: dict[str, Listed]) -> None:
        for endpoint in page.data:
            if is_valid_v2_endpoint_id(endpoint.id):
                listed[v2_key(project_id, endpoint.id)] = Listed(project_id, endpoint)
            else:
                logger.warning("skipping a listed v2 endpoint with an unusable id", extra={"project_id": project_id})
        if self._lookups is not None:
            self._remember(self._lookups, project_id, body, page)

    def _remember(self, lookups: LookupService, project_id: str, body: str, page: Page[Endpoint]) -> None:
        items: list[Any] = json.loads(body)["data"]  # parsed once already: page.data came from it
        if len(items) != len(page.data):
            raise InvalidUpstreamResponseError("upstream sent a v2 endpoint page the relay cannot read")
        for raw, endpoint in zip(items, page.data, strict=True):
            if is_valid_v2_endpoint_id(endpoint.id):
                # The item as sent (re-serialised; a GET answers the same object), under the GET's cache key.
                cache_key = endpoint_request(project_id, endpoint.id).cache_key
                lookups.remember(cache_key, json.dumps(raw, separators=(",", ":")), endpoint)
