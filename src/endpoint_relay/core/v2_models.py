"""Typed views of Together's v2 endpoint, deployment, event, instance-type and list bodies.

Like :mod:`endpoint_relay.core.models`, these exist for decisions only: the relay
passes the upstream JSON through as sent. They are strict about what a decision
needs and tolerant of everything else:

- unknown fields are ignored, and an unknown enum value is kept as the raw string
  (compare with the ``StrEnum`` values; never ``DeploymentState(raw)``);
- a missing or mistyped optional field reads as ``None``;
- :class:`V2ParseError` is raised only when a body lacks what a decision needs: a
  resource without its ``id``, a deployment without its state, an endpoint
  without its ``trafficSplit`` or ``deployments`` arrays, or a list page without
  ``data``. Reading a missing array as empty would turn a contract change into
  a confident "no deployments".

One :class:`Deployment` type reads both the full get-deployment body and the
summaries embedded in an endpoint: the summary carries ``state`` and
``readyReplicas`` at the top level where the full body nests them in
``status``, and lacks ``status.message``, ``updatedAt`` and ``endpointId``
(those read as ``None``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeploymentState(StrEnum):
    PROVISIONING = "DEPLOYMENT_STATE_PROVISIONING"
    READY = "DEPLOYMENT_STATE_READY"
    SCALING = "DEPLOYMENT_STATE_SCALING"
    DEGRADED = "DEPLOYMENT_STATE_DEGRADED"
    FAILED = "DEPLOYMENT_STATE_FAILED"
    STOPPING = "DEPLOYMENT_STATE_STOPPING"
    STOPPED = "DEPLOYMENT_STATE_STOPPED"


class TrafficMode(StrEnum):
    LIVE = "TRAFFIC_MODE_LIVE"
    SHADOW = "TRAFFIC_MODE_SHADOW"
    """Receives mirrored traffic only; its answers never reach a client."""


class EventLevel(StrEnum):
    DEBUG = "LEVEL_DEBUG"
    INFO = "LEVEL_INFO"
    WARN = "LEVEL_WARN"
    ERROR = "LEVEL_ERROR"


KNOWN_DEPLOYMENT_STATES = frozenset(state.value for state in DeploymentState)


class V2ParseError(ValueError):
    """The upstream body lacks what the relay needs to decide anything about it."""


def load_json(body: bytes | str) -> Any:
    """Decode an upstream body; pass the result to a ``from_dict``."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise V2ParseError("body is not JSON") from exc
    except RecursionError:  # deeply nested arrays/objects exhaust the decoder, well under the size cap
        raise V2ParseError("body is nested too deeply") from None


@dataclass(frozen=True, slots=True)
class DeploymentAutoscaling:
    """Replica bounds as sent; ``None`` where upstream omitted a bound (see :mod:`v1_view` for defaults)."""

    min_replicas: int | None
    max_replicas: int | None

    @classmethod
    def from_dict(cls, value: Any) -> DeploymentAutoscaling | None:
        if not isinstance(value, dict):
            return None
        return cls(min_replicas=_count(value, "minReplicas"), max_replicas=_count(value, "maxReplicas"))


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment, from the full get-deployment body or an endpoint's embedded summary."""

    id: str
    state: str
    """Upstream state as sent; compare with :class:`DeploymentState` values."""
    status_message: str | None
    name: str | None
    endpoint_id: str | None
    model: str | None
    hardware: str | None
    traffic_mode: str | None
    autoscaling: DeploymentAutoscaling | None
    ready_replicas: int | None
    desired_replicas: int | None
    created_at: str | None
    updated_at: str | None

    @property
    def state_is_known(self) -> bool:
        return self.state in KNOWN_DEPLOYMENT_STATES

    @classmethod
    def from_dict(cls, document: Any) -> Deployment:
        document = _object(document, "deployment")
        status = document.get("status")
        status = status if isinstance(status, dict) else {}
        state = _text(status, "state") or _text(document, "state")
        if not state:
            raise V2ParseError("deployment field 'status.state' (or summary 'state') is missing or not a string")
        ready = _count(status, "readyReplicas")
        return cls(
            id=_id(document, "deployment"),
            state=state,
            status_message=_text(status, "message"),
            name=_text(document, "name"),
            endpoint_id=_text(document, "endpointId"),
            model=_text(document, "model"),
            hardware=_text(document, "hardware"),
            traffic_mode=_text(document, "trafficMode"),
            autoscaling=DeploymentAutoscaling.from_dict(document.get("autoscaling")),
            ready_replicas=ready if ready is not None else _count(document, "readyReplicas"),
            desired_replicas=_count(document, "desiredReplicas"),
            created_at=_text(document, "createdAt"),
            updated_at=_text(document, "updatedAt"),
        )


@dataclass(frozen=True, slots=True)
class TrafficSplitEntry:
    deployment_id: str
    weight: float
    """Non-negative and finite; 0 takes the deployment out of the live split."""

    @classmethod
    def from_dict(cls, value: Any) -> TrafficSplitEntry:
        value = _object(value, "trafficSplit entry")
        deployment_id, weight = value.get("deploymentId"), value.get("weight")
        if not isinstance(deployment_id, str) or not deployment_id:
            raise V2ParseError("trafficSplit entry field 'deploymentId' is missing or not a string")
        # bool is an int subclass; a boolean weight is unreadable, not 0/1.
        if type(weight) not in (int, float) or not math.isfinite(weight) or weight < 0:
            raise V2ParseError("trafficSplit entry field 'weight' is not a finite, non-negative number")
        return cls(deployment_id=deployment_id, weight=float(weight))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A v2 endpoint with its traffic split and (at most the 10 newest) deployment summaries."""

    id: str
    project_id: str | None
    name: str | None
    endpoint_type: str | None
    created_at: str | None
    updated_at: str | None
    traffic_split: tuple[TrafficSplitEntry, ...]
    deployments: tuple[Deployment, ...]
    """Newest first, as upstream orders them; the deployments list API has the rest."""

    @classmethod
    def from_dict(cls, document: Any) -> Endpoint:
        document = _object(document, "endpoint")
        return cls(
            id=_id(document, "endpoint"),
            project_id=_text(document, "projectId"),
            name=_text(document, "name"),
            endpoint_type=_text(document, "endpointType"),
            created_at=_text(document, "createdAt"),
            updated_at=_text(document, "updatedAt"),
            traffic_split=tuple(TrafficSplitEntry.from_dict(entry) for entry in _array(document, "trafficSplit")),
            deployments=tuple(Deployment.from_dict(summary) for summary in _array(document, "deployments")),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One row of an endpoint's event feed; the spec names its time ``createdAt``."""

    id: str
    type: str | None
    """An open set of strings such as ``deployment.scaled``: never an enum."""
    level: str | None
    """Compare with :class:`EventLevel` values; unknown levels are kept as sent."""
    message: str | None
    created_at: str | None
    deployment_id: str | None

    @classmethod
    def from_dict(cls, document: Any) -> Event:
        document = _object(document, "event")
        return cls(
            id=_id(document, "event"),
            type=_text(document, "type"),
            level=_text(document, "level"),
            message=_text(document, "message"),
            created_at=_text(document, "createdAt"),
            deployment_id=_text(document, "deploymentId"),
        )


@dataclass(frozen=True, slots=True)
class InstanceType:
    """A hardware option from the public catalog, with its on-demand price per replica."""

    id: str
    name: str | None
    price_cents_per_hour: int | None

    @classmethod
    def from_dict(cls, document: Any) -> InstanceType:
        document = _object(document, "instance type")
        return cls(
            id=_id(document, "instance type"),
            name=_text(document, "name"),
            price_cents_per_hour=_count(document, "priceCentsPerHour"),
        )


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of a v2 list: pass ``next_cursor`` back as ``after``; ``None`` means the last page."""

    data: tuple[T, ...]
    next_cursor: str | None

    @classmethod
    def from_dict(cls, document: Any, parse_item: Callable[[Any], T]) -> Page[T]:
        """Parse every item with ``parse_item`` (e.g. ``Endpoint.from_dict``); one unusable item fails the page."""
        document = _object(document, "list page")
        # An empty cursor would fetch the first page again: read it as the end, like null.
        return cls(
            data=tuple(parse_item(item) for item in _array(document, "data")),
            next_cursor=_text(document, "next_cursor") or None,
        )


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise V2ParseError(f"{what} is not a JSON object")
    return value


def _id(document: dict[str, Any], what: str) -> str:
    value = document.get("id")
    if not isinstance(value, str) or not value:
        raise V2ParseError(f"{what} field 'id' is missing or not a string")
    return value


def _array(document: dict[str, Any], key: str) -> list[Any]:
    value = document.get(key)
    if not isinstance(value, list):
        raise V2ParseError(f"field '{key}' is missing or not an array")
    return value


def _text(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) else None


def _count(document: dict[str, Any], key: str) -> int | None:
    value = document.get(key)
    # bool is an int subclass; a boolean count is unreadable, not 0/1. So is a negative one.
    return value if type(value) is int and value >= 0 else None
