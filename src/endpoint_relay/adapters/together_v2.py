"""Together's v2 read API, on the v1 client's pool, retries, deadline and error handling.

v2 lives on the same host as v1, under ``/v2`` (:attr:`UpstreamSettings.v2_base_url`).
Every request is a :class:`V2Request`, so its ids and query were checked in
one place (:mod:`endpoint_relay.core.v2_request`) whoever builds it. A 404 is
the resource's own NotFoundError; a 400 is InvalidQueryError carrying
Together's message from either error shape (:mod:`endpoint_relay.core.v2_errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlencode

from endpoint_relay.core.errors import InvalidUpstreamResponseError

if TYPE_CHECKING:
    from endpoint_relay.core.analytics import RequestCounts
    from endpoint_relay.core.v2_models import Deployment, Endpoint, Event, InstanceType, Page
    from endpoint_relay.core.v2_request import V2Request

# The v2 models, ids and request checks are imported on the first v2 call, not with the client: a v1 lookup's
# cold start never pays for them (``make bench``, cold start).


class TogetherV2Reads:
    """Mixed into :class:`~endpoint_relay.adapters.together.TogetherClient`, which provides the transport."""

    def _get_v2[T](self, request: V2Request, api_key: str, parse: Callable[[str], T]) -> T:
        raise NotImplementedError  # TogetherClient sends it on its pool, with its retries and deadline

    def get_v2(self, request: V2Request, api_key: str) -> tuple[str, Any]:
        """The raw body and its model (see :func:`parse_body`) for any checked v2 request."""

        from endpoint_relay.core.v2_models import V2ParseError
        from endpoint_relay.core.v2_resources import parse_body

        def parse(body: str) -> tuple[str, Any]:
            try:
                return body, parse_body(request, body)
            except V2ParseError as exc:
                raise InvalidUpstreamResponseError(
                    f"upstream sent a v2 {request.resource.value} the relay cannot read"
                ) from exc

        return self._get_v2(request, api_key, parse)

    def get_v2_endpoint(self, project_id: str, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        body, endpoint = self.get_v2(
            _checked(project_id, f"endpoints/{endpoint_id}", ("endpoint", endpoint_id)), api_key
        )
        return body, cast("Endpoint", endpoint)

    def list_v2_endpoints_page(
        self, project_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Endpoint]]:
        request = _checked(project_id, "endpoints", after=after, limit=limit)
        body, page = self.get_v2(request, api_key)
        return body, cast("Page[Endpoint]", page)

    def list_v2_events(
        self,
        project_id: str,
        endpoint_id: str,
        api_key: str,
        *,
        min_level: str = "LEVEL_WARN",
        since: str | None = None,
        limit: int = 5,
    ) -> tuple[Event, ...]:
        """The newest events first; ``since`` is an RFC 3339 instant (inclusive)."""
        request = _checked(
            project_id,
            f"endpoints/{endpoint_id}/events",
            ("endpoint", endpoint_id),
            minLevel=min_level,
            since=since,
            limit=limit,
        )
        _, page = self.get_v2(request, api_key)
        return cast("Page[Event]", page).data

    def get_v2_analytics(
        self, project_id: str, endpoint_id: str, api_key: str, *, start: float, end: float
    ) -> tuple[str, RequestCounts]:
        """Request counts per deployment over [start, end) (epoch seconds), endpoint-wide, without time series."""
        from endpoint_relay.core.v2_request import analytics_request

        query = urlencode({"startTime": _rfc3339(start), "endTime": _rfc3339(end)})
        request = analytics_request(project_id, endpoint_id, query)
        body, counts = self.get_v2(request, api_key)
        return body, cast("RequestCounts", counts)

    def list_v2_deployments_page(
        self, project_id: str, endpoint_id: str, api_key: str, *, after: str | None = None, limit: int | None = None
    ) -> tuple[str, Page[Deployment]]:
        request = _checked(
            project_id, f"endpoints/{endpoint_id}/deployments", ("endpoint", endpoint_id), after=after, limit=limit
        )
        body, page = self.get_v2(request, api_key)
        return body, cast("Page[Deployment]", page)

    def get_v2_deployment(
        self, project_id: str, endpoint_id: str, deployment_id: str, api_key: str
    ) -> tuple[str, Deployment]:
        body, deployment = self.get_v2(
            _checked(
                project_id,
                f"endpoints/{endpoint_id}/deployments/{deployment_id}",
                ("endpoint", endpoint_id),
                ("deployment", deployment_id),
            ),
            api_key,
        )
        return body, cast("Deployment", deployment)

    def list_v2_instance_types(self, api_key: str) -> tuple[str, Page[InstanceType]]:
        from endpoint_relay.core.v2_request import parse_v2_request

        body, page = self.get_v2(parse_v2_request("/v2/public/inference-instance-types", "", frozenset()), api_key)
        return body, cast("Page[InstanceType]", page)

    def instance_types_body(self, api_key: str) -> str:
        """The raw catalogue, unparsed: prices read it entry by entry, so one unreadable entry hides only its price
        (the strict :meth:`list_v2_instance_types` refuses the whole page)."""
        from endpoint_relay.core.v2_request import parse_v2_request

        request = parse_v2_request("/v2/public/inference-instance-types", "", frozenset())
        return self._get_v2(request, api_key, lambda body: body)

    def get_v2_instance_type(self, type_id: str, api_key: str) -> tuple[str, InstanceType]:
        from endpoint_relay.core.v2_ids import require_instance_type_id
        from endpoint_relay.core.v2_request import parse_v2_request

        require_instance_type_id(type_id)
        request = parse_v2_request(f"/v2/public/inference-instance-types/{type_id}", "", frozenset())
        body, instance_type = self.get_v2(request, api_key)
        return body, cast("InstanceType", instance_type)


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _checked(
    project_id: str, rest: str, *ids: tuple[Literal["endpoint", "deployment"], str], **query: str | int | None
) -> V2Request:
    """A request built by the relay itself, held to the same checks as a caller's (ids, limits, instants)."""
    from endpoint_relay.core.v2_ids import DEPLOYMENT, ENDPOINT, PROJECT, require_v2_id
    from endpoint_relay.core.v2_request import parse_v2_request

    kinds = {"endpoint": ENDPOINT, "deployment": DEPLOYMENT}
    require_v2_id(PROJECT, project_id)
    for kind, value in ids:
        require_v2_id(kinds[kind], value)  # before the ids become a path: each must be one segment
    raw_query = urlencode({name: str(value) for name, value in query.items() if value is not None})
    return parse_v2_request(f"/v2/projects/{project_id}/{rest}", raw_query, frozenset({project_id}))
