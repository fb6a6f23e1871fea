"""In-memory stand-ins shared by the test suites: a clock that moves only when told, a secret store, and Together.

The core takes its clock, secrets and upstream as ports; these fakes fill them
without a network, and record what was asked of them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from devstack.together_sim import make_endpoint
from endpoint_relay.core.errors import EndpointNotFoundError, UpstreamAuthError
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.secrets import RelaySecrets
from endpoint_relay.core.v2_models import Event

T0 = 1_700_000_000.0


class FakeClock:
    """A time source that stands still until ``advance``: tests jump past intervals instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSecrets:
    """A secret store whose cached copy goes out of date when ``stored_key`` is rotated, until a forced refresh."""

    def __init__(self, key: str = "fake-key") -> None:
        self.stored_key = key
        self.calls: list[bool] = []
        """``force_refresh`` of each read."""
        self.error: Exception | None = None
        self._cached_key: str | None = None

    def get(self, *, force_refresh: bool = False) -> RelaySecrets:
        self.calls.append(force_refresh)
        if self.error is not None:
            raise self.error
        if force_refresh or self._cached_key is None:
            self._cached_key = self.stored_key
        return RelaySecrets(together_api_key=self._cached_key)


class FakeUpstream:
    """Together in memory: known endpoints, accepted keys, and failures scripted in order or per endpoint."""

    def __init__(self, accepted_keys: set[str] | None = None) -> None:
        self.bodies: dict[str, str] = {}
        self.accepted_keys = accepted_keys
        """Keys Together accepts; ``None`` accepts any."""
        self.failures: list[Exception] = []
        """Raised by the next calls, in order."""
        self.failing: dict[str, Exception] = {}
        """Raised by every call for that endpoint id."""
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()  # sweep workers call concurrently

    def put(self, endpoint_id: str, **fields: Any) -> None:
        self.bodies[endpoint_id] = json.dumps(make_endpoint(endpoint_id, **fields))

    def get_endpoint(self, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        with self._lock:
            self.calls.append((endpoint_id, api_key))
            scripted = self.failures.pop(0) if self.failures else None
        if scripted is not None:
            raise scripted
        if endpoint_id in self.failing:
            raise self.failing[endpoint_id]
        if self.accepted_keys is not None and api_key not in self.accepted_keys:
            raise UpstreamAuthError("Together rejected the relay's API key")
        body = self.bodies.get(endpoint_id)
        if body is None:
            raise EndpointNotFoundError("endpoint not found", param="endpointId")
        return body, Endpoint.from_json(body)

    def list_endpoint_ids(self, api_key: str) -> list[str]:
        return list(self.bodies)


class FakeEventFeed:
    """Together's v2 events feed in memory: what it answers, what it was asked, and a failure to raise instead."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.error: Exception | None = None
        self.calls: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def add(self, level: str, message: str, deployment_id: str | None = "dep_main") -> None:
        document = {
            "id": f"ev_{len(self.events)}",
            "level": level,
            "message": message,
            "createdAt": "2023-11-14T22:10:00Z",
        }
        if deployment_id:
            document["deploymentId"] = deployment_id
        self.events.insert(0, Event.from_dict(document))  # newest first, as the feed answers

    def list_v2_events(
        self, project_id: str, endpoint_id: str, api_key: str, *, min_level: str, since: str | None, limit: int
    ) -> tuple[Event, ...]:
        with self._lock:
            self.calls.append(
                {"project": project_id, "endpoint": endpoint_id, "key": api_key, "level": min_level, "since": since}
            )
        if self.error is not None:
            raise self.error
        return tuple(self.events[:limit])
