"""The simulator's v2 read API: project-scoped endpoints, deployments, events, analytics, instance types.

``TogetherSimulator`` mounts one ``TogetherV2`` under ``/v2`` on its host and
gives it the bearer-key check, latency, fault injection and call counting v1
has. This module holds the v2 state and answers: ``resolve`` maps a path to a
call-count label (the path without its query) and an answer, or None for a
path the API does not have.

What the spec (spec/together-v2-endpoints.openapi.yaml) leaves open is a knob
here, so tests can hold the relay to every reading: the error body shape
(``error_shape``), a null or absent final ``next_cursor`` (``omit_final_cursor``)
and how a zero request count is rendered (``zero_count``).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from devstack.together_v2_docs import (
    DEPLOYMENT_STATES,
    default_instance_types,
    effective_shares,
    embed_deployments,
)
from devstack.together_v2_filter import parse_instant
from devstack.together_v2_query import AnalyticsQuery, EventQuery, V2Error, cursor_page, filtered

ErrorShape = Literal["envelope", "rpc"]
ZeroCount = Literal["omit_field", "omit_object", "zero"]
Answer = tuple[int, Any]

DEPLOYMENTS_MAX_LIMIT = 500
# The docs say 500, SDK 3.1.1 says 10000: the simulator holds callers to the stricter bound.
EVENTS_MAX_LIMIT = 500
MAX_BUCKETS = 10_000
# google.rpc.Code for each HTTP status the simulator answers with (the RPC-style body carries it).
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 502: 14, 503: 14, 504: 4}
_ENVELOPE_CODES = {400: "invalid_argument", 401: "invalid_api_key", 403: "permission_denied", 404: "not_found"}


@dataclass(frozen=True)
class V2Request:
    """A routed request: what it counts as, and how to answer it (run after faults had their turn)."""

    label: str
    answer: Callable[[], Answer]


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TogetherV2:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    # -- seeding and knobs ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.error_shape: ErrorShape = "envelope"
            self.omit_final_cursor = False
            self.zero_count: ZeroCount = "omit_field"
            self._projects: set[str] = set()
            self._endpoints: dict[str, dict[str, Any]] = {}
            self._deployments: dict[str, dict[str, dict[str, Any]]] = {}
            self._events: dict[str, list[dict[str, Any]]] = {}
            self._requests: dict[str, list[tuple[str, datetime, int]]] = {}
            self._instance_types = {item["id"]: item for item in default_instance_types()}

    def add_project(self, project_id: str) -> None:
        with self._lock:
            self._projects.add(project_id)

    def put_endpoint(self, endpoint: dict[str, Any], deployments: Sequence[dict[str, Any]] = ()) -> str:
        """Store an Endpoint (its project comes into being) and, optionally, its full Deployments.

        Once the simulator holds deployments for an endpoint, the endpoint's
        embedded summaries and every traffic share are derived from them on
        each read, so a later ``put_deployment`` shows everywhere. Without
        any, the endpoint's own ``deployments`` are served as given.
        """
        with self._lock:
            self._projects.add(endpoint["projectId"])
            self._endpoints[endpoint["id"]] = copy.deepcopy(endpoint)
            self._deployments.setdefault(endpoint["id"], {})
        for deployment in deployments:
            self.put_deployment(deployment)
        return str(endpoint["id"])

    def put_deployment(self, deployment: dict[str, Any]) -> str:
        with self._lock:
            self._deployments.setdefault(deployment["endpointId"], {})[deployment["id"]] = copy.deepcopy(deployment)
        return str(deployment["id"])

    def remove_endpoint(self, endpoint_id: str) -> None:
        with self._lock:
            self._endpoints.pop(endpoint_id, None)
            self._deployments.pop(endpoint_id, None)

    def add_events(self, *events: dict[str, Any]) -> None:
        with self._lock:
            for event in events:
                self._events.setdefault(event["endpointId"], []).append(copy.deepcopy(event))

    def add_requests(self, endpoint_id: str, deployment_id: str, count: int, at: datetime | str) -> None:
        """``count`` requests served by the deployment at instant ``at`` (what analytics sums over a window)."""
        instant = parse_instant(at) if isinstance(at, str) else at
        with self._lock:
            self._requests.setdefault(endpoint_id, []).append((deployment_id, instant, count))

    def put_instance_type(self, instance_type: dict[str, Any]) -> None:
        with self._lock:
            self._instance_types[instance_type["id"]] = copy.deepcopy(instance_type)

    # -- errors ----------------------------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """The body of an error in the shape chosen by ``error_shape`` (the spec's ApiError allows both)."""
        if self.error_shape == "rpc":
            return {"message": message, "code": _RPC_CODES.get(status, 2), "details": [{"detail": message}]}
        code = _ENVELOPE_CODES.get(status, "server_error" if status >= 500 else "request_error")
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}

    # -- routing ---------------------------------------------------------------------------------------------------

    def resolve(self, path: str, query: str) -> V2Request | None:
        segments = [unquote(part) for part in path.split("/")[2:]]  # drops "" and "v2"
        if any(not part for part in segments):
            return None
        params = parse_qs(query, keep_blank_values=True)
        match segments:
            case ["public", "inference-instance-types"]:
                return V2Request(path, self._guarded(self._list_instance_types))
            case ["public", "inference-instance-types", type_id]:
                return V2Request(path, self._guarded(lambda: self._get_instance_type(type_id)))
            case ["projects", project, "endpoints"]:
                return V2Request(path, self._guarded(lambda: self._list_endpoints(project, params)))
            case ["projects", project, "endpoints", endpoint_id]:
                return V2Request(path, self._guarded(lambda: self._get_endpoint(project, endpoint_id)))
            case ["projects", project, "endpoints", endpoint_id, "events"]:
                return V2Request(path, self._guarded(lambda: self._list_events(project, endpoint_id, params)))
            case ["projects", project, "endpoints", endpoint_id, "analytics"]:
                return V2Request(path, self._guarded(lambda: self._analytics(project, endpoint_id, params)))
            case ["projects", project, "endpoints", endpoint_id, "deployments"]:
                return V2Request(path, self._guarded(lambda: self._list_deployments(project, endpoint_id, params)))
            case ["projects", project, "endpoints", endpoint_id, "deployments", deployment_id]:
                return V2Request(path, self._guarded(lambda: self._get_deployment(project, endpoint_id, deployment_id)))
        return None

    def _guarded(self, answer: Callable[[], Any]) -> Callable[[], Answer]:
        def run() -> Answer:
            try:
                with self._lock:
                    return 200, answer()
            except V2Error as error:
                return error.status, self.error_body(error.status, error.message)

        return run

    # -- reads (called with the lock held) ------------------------------------------------------------------------

    def _endpoint_record(self, project: str, endpoint_id: str) -> dict[str, Any]:
        if project not in self._projects:
            raise V2Error(404, f"project {project} not found")
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None or endpoint["projectId"] != project:
            raise V2Error(404, f"endpoint {endpoint_id} not found")
        return endpoint

    def _deployments_of(self, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
        """Full deployments with the traffic share the endpoint's split gives each."""
        deployments = list(self._deployments.get(endpoint["id"], {}).values())
        shares = effective_shares(endpoint.get("trafficSplit", []), deployments)
        return [{**copy.deepcopy(d), "estimatedEffectiveTrafficShare": shares[d["id"]]} for d in deployments]

    def _render_endpoint(self, endpoint: dict[str, Any]) -> dict[str, Any]:
        deployments = self._deployments_of(endpoint)
        return embed_deployments(endpoint, deployments) if deployments else copy.deepcopy(endpoint)

    def _get_endpoint(self, project: str, endpoint_id: str) -> dict[str, Any]:
        return self._render_endpoint(self._endpoint_record(project, endpoint_id))

    def _list_endpoints(self, project: str, params: dict[str, list[str]]) -> dict[str, Any]:
        if project not in self._projects:
            raise V2Error(404, f"project {project} not found")
        fields = {
            "name": lambda e: str(e["name"]),
            "created_at": lambda e: str(e["createdAt"]),
            "updated_at": lambda e: str(e["updatedAt"]),
        }
        endpoints = [e for e in self._endpoints.values() if e["projectId"] == project]
        page = cursor_page(filtered(endpoints, params, fields), params, maximum=None, omit=self.omit_final_cursor)
        page["data"] = [self._render_endpoint(e) for e in page["data"]]
        return page

    def _get_deployment(self, project: str, endpoint_id: str, deployment_id: str) -> dict[str, Any]:
        endpoint = self._endpoint_record(project, endpoint_id)
        for deployment in self._deployments_of(endpoint):
            if deployment["id"] == deployment_id:
                return deployment
        raise V2Error(404, f"deployment {deployment_id} not found")

    def _list_deployments(self, project: str, endpoint_id: str, params: dict[str, list[str]]) -> dict[str, Any]:
        deployments = self._deployments_of(self._endpoint_record(project, endpoint_id))
        fields = {
            "name": lambda d: str(d["name"]),
            "state": lambda d: str(d["status"]["state"]),
            "model": lambda d: str(d["model"]),
            "created_at": lambda d: str(d["createdAt"]),
            "updated_at": lambda d: str(d["updatedAt"]),
        }
        enums = {"state": set(DEPLOYMENT_STATES)}
        chosen = filtered(deployments, params, fields, enums)
        return cursor_page(chosen, params, maximum=DEPLOYMENTS_MAX_LIMIT, omit=self.omit_final_cursor)

    def _list_events(self, project: str, endpoint_id: str, params: dict[str, list[str]]) -> dict[str, Any]:
        self._endpoint_record(project, endpoint_id)
        wanted = EventQuery.parse(params, set(self._deployments.get(endpoint_id, {})))
        events = [e for e in self._events.get(endpoint_id, []) if wanted.admits(e)]
        newest_first = {**params, "orderBy": ["created_at desc"]}
        page = cursor_page(events, newest_first, maximum=EVENTS_MAX_LIMIT, omit=self.omit_final_cursor)
        page["data"] = copy.deepcopy(page["data"])
        return page

    def _analytics(self, project: str, endpoint_id: str, params: dict[str, list[str]]) -> dict[str, Any]:
        self._endpoint_record(project, endpoint_id)
        window = AnalyticsQuery.parse(params, self._clock(), set(self._deployments.get(endpoint_id, {})))
        rows = [
            (deployment, at, count)
            for deployment, at, count in self._requests.get(endpoint_id, [])
            if deployment in window.deployment_ids and window.start <= at < window.end
        ]
        return _Analytics(endpoint_id, window.start, window.end, self.zero_count).render(
            sorted(window.deployment_ids), rows, window.bucket
        )

    def _list_instance_types(self) -> dict[str, Any]:
        return {"object": "list", "data": copy.deepcopy(list(self._instance_types.values())), "next_cursor": None}

    def _get_instance_type(self, type_id: str) -> dict[str, Any]:
        if type_id not in self._instance_types:
            raise V2Error(404, f"instance type {type_id} not found")
        return copy.deepcopy(self._instance_types[type_id])


# -- analytics ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analytics:
    """Request counts as Int64 strings; the rest of the metric groups are left out (the spec allows any absent)."""

    endpoint_id: str
    start: datetime
    end: datetime
    zero_count: ZeroCount

    def render(
        self, deployment_ids: list[str], rows: list[tuple[str, datetime, int]], bucket: timedelta | None
    ) -> dict[str, Any]:
        time_range = {"startTime": _iso(self.start), "endTime": _iso(self.end)}
        per_deployment = [
            {
                "deploymentId": deployment,
                "endpointId": self.endpoint_id,
                "timeRange": time_range,
                **self._requests(sum(count for d, _, count in rows if d == deployment)),
            }
            for deployment in deployment_ids
        ]
        metrics = {
            "endpointId": self.endpoint_id,
            "timeRange": time_range,
            **self._requests(sum(count for _, _, count in rows)),
            "deploymentMetrics": per_deployment,
        }
        document: dict[str, Any] = {
            "endpointId": self.endpoint_id,
            "timeRange": time_range,
            "metrics": metrics,
            "deploymentAnalytics": [
                {
                    "deploymentId": m["deploymentId"],
                    "endpointId": self.endpoint_id,
                    "timeRange": time_range,
                    "metrics": m,
                }
                for m in per_deployment
            ],
        }
        if bucket is not None:
            document["timeSeries"] = self._series(rows, bucket)
            for entry in document["deploymentAnalytics"]:
                entry["timeSeries"] = self._series([r for r in rows if r[0] == entry["deploymentId"]], bucket)
        return document

    def _requests(self, total: int) -> dict[str, Any]:
        if total == 0 and self.zero_count == "omit_object":
            return {}
        if total == 0 and self.zero_count == "omit_field":
            return {"requestMetrics": {}}
        return {"requestMetrics": {"totalRequests": str(total)}}

    def _series(self, rows: list[tuple[str, datetime, int]], bucket: timedelta) -> list[dict[str, Any]]:
        if (self.end - self.start) / bucket > MAX_BUCKETS:
            raise V2Error(400, "too many time buckets for this range and granularity")
        points: list[dict[str, Any]] = []
        edge = self.start
        while edge < self.end:
            count = sum(c for _, at, c in rows if edge <= at < edge + bucket)
            points.append({"timestamp": _iso(edge), "values": {"requests": count}})  # key names are undocumented
            edge += bucket
        return points
