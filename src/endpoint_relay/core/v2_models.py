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

Each field names its JSON key and reader once (``json_field``); one ``from_dict``
walks the fields of any model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self


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


KNOWN_DEPLOYMENT_STATES: frozenset[str] = frozenset(DeploymentState)  # StrEnum members compare as their strings


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


# --- a field names its JSON key and reader once; one walk over the fields reads any model ----------------------

_SOURCE = "json"


@dataclass(frozen=True, slots=True)
class _Source:
    paths: tuple[tuple[str, ...], ...]
    """Paths into the body (dotted keys split once), tried in order: the first one that reads fills the field."""
    read: Callable[[Any], object | None]
    """The raw value (``None`` when absent) as the field's value, or ``None`` when unreadable."""
    required: bool

    def take(self, document: dict[str, Any], what: str) -> object | None:
        for first, *rest in self.paths:
            raw = document.get(first)  # inlined path walk: this runs for every field of every item of a list page
            for key in rest:
                raw = raw.get(key) if isinstance(raw, dict) else None
            value = self.read(raw)
            if value is not None:
                return value
        if self.required:
            keys = " or ".join(repr(".".join(path)) for path in self.paths)
            raise V2ParseError(f"{what} field {keys} is missing or unreadable")
        return None


def json_field[T](key: str, read: Callable[[Any], T | None], *, fallback: str | None = None) -> T | None:
    """A field read from ``key`` (else ``fallback``) with ``read``; ``None`` when neither reads."""
    spec: T | None = field(metadata={_SOURCE: _Source(_keys(key, fallback), read, required=False)})
    return spec


def required_json_field[T](key: str, read: Callable[[Any], T | None], *, fallback: str | None = None) -> T:
    """Like :func:`json_field`, but a body where neither key reads is refused with :class:`V2ParseError`."""
    spec: T = field(metadata={_SOURCE: _Source(_keys(key, fallback), read, required=True)})
    return spec


class _JsonObject:
    """Gives a dataclass made of ``json_field`` declarations its ``from_dict``."""

    __slots__ = ()
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_dict(cls, document: Any) -> Self:
        what = cls.__name__
        document = _object(document, what)
        return cls(**{name: source.take(document, what) for name, source in _sources(cls)})


# --- readers: a raw JSON value (None when absent) in, the field's value or None when unreadable out ----------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _nonempty_text(value: Any) -> str | None:
    """For identifiers and states, where an empty string says no more than a missing one."""
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    # bool is an int subclass; a boolean count is unreadable, not 0/1. So is a negative one.
    return value if type(value) is int and value >= 0 else None


def _weight(value: Any) -> float | None:
    # bool is an int subclass; a boolean weight is unreadable, not 0/1.
    if type(value) in (int, float) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _array_of[T](parse_item: Callable[[Any], T]) -> Callable[[Any], tuple[T, ...] | None]:
    """Every item parsed; an item ``parse_item`` refuses fails the whole array (never a silent drop)."""

    def read(value: Any) -> tuple[T, ...] | None:
        return tuple(parse_item(item) for item in value) if isinstance(value, list) else None

    return read


def _object_of[T](parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """An optional nested object: anything but a JSON object reads as ``None``."""

    def read(value: Any) -> T | None:
        return parse(value) if isinstance(value, dict) else None

    return read


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise V2ParseError(f"{what} is not a JSON object")
    return value


_SOURCES: dict[type, tuple[tuple[str, _Source], ...]] = {}


def _sources(model: type[_JsonObject]) -> tuple[tuple[str, _Source], ...]:
    # Computed once per model: dataclasses.fields() builds a new tuple on every call, which a
    # sweep reading 1,000 endpoints of 10 deployments each would pay ~100,000 times.
    known = _SOURCES.get(model)
    if known is None:
        known = _SOURCES[model] = tuple((spec.name, spec.metadata[_SOURCE]) for spec in fields(model))
    return known


def _keys(key: str, fallback: str | None) -> tuple[tuple[str, ...], ...]:
    dotted_keys = (key,) if fallback is None else (key, fallback)
    return tuple(tuple(dotted.split(".")) for dotted in dotted_keys)


# --- the models ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeploymentAutoscaling(_JsonObject):
    """Replica bounds as sent; ``None`` where upstream omitted a bound (see :mod:`v1_view` for defaults)."""

    min_replicas: int | None = json_field("minReplicas", _count)
    max_replicas: int | None = json_field("maxReplicas", _count)


@dataclass(frozen=True, slots=True)
class Deployment(_JsonObject):
    """A deployment, from the full get-deployment body or an endpoint's embedded summary."""

    id: str = required_json_field("id", _nonempty_text)
    state: str = required_json_field("status.state", _nonempty_text, fallback="state")
    """Upstream state as sent; compare with :class:`DeploymentState` values."""
    status_message: str | None = json_field("status.message", _text)
    name: str | None = json_field("name", _text)
    endpoint_id: str | None = json_field("endpointId", _text)
    model: str | None = json_field("model", _text)
    hardware: str | None = json_field("hardware", _text)
    traffic_mode: str | None = json_field("trafficMode", _text)
    autoscaling: DeploymentAutoscaling | None = json_field("autoscaling", _object_of(DeploymentAutoscaling.from_dict))
    ready_replicas: int | None = json_field("status.readyReplicas", _count, fallback="readyReplicas")
    desired_replicas: int | None = json_field("desiredReplicas", _count)
    created_at: str | None = json_field("createdAt", _text)
    updated_at: str | None = json_field("updatedAt", _text)

    @property
    def state_is_known(self) -> bool:
        return self.state in KNOWN_DEPLOYMENT_STATES


@dataclass(frozen=True, slots=True)
class TrafficSplitEntry(_JsonObject):
    deployment_id: str = required_json_field("deploymentId", _nonempty_text)
    weight: float = required_json_field("weight", _weight)
    """Non-negative and finite; 0 takes the deployment out of the live split."""


MAX_EMBEDDED_DEPLOYMENTS = 10
"""An endpoint embeds summaries of at most its 10 newest deployments (documented); the list endpoint has them all."""


@dataclass(frozen=True, slots=True)
class Endpoint(_JsonObject):
    """A v2 endpoint with its traffic split and (at most the 10 newest) deployment summaries."""

    id: str = required_json_field("id", _nonempty_text)
    project_id: str | None = json_field("projectId", _text)
    name: str | None = json_field("name", _text)
    endpoint_type: str | None = json_field("endpointType", _text)
    created_at: str | None = json_field("createdAt", _text)
    updated_at: str | None = json_field("updatedAt", _text)
    traffic_split: tuple[TrafficSplitEntry, ...] = required_json_field(
        "trafficSplit", _array_of(TrafficSplitEntry.from_dict)
    )
    deployments: tuple[Deployment, ...] = required_json_field("deployments", _array_of(Deployment.from_dict))
    """Newest first, as upstream orders them; the deployments list API has the rest."""


class EventLevel(StrEnum):
    DEBUG = "LEVEL_DEBUG"
    INFO = "LEVEL_INFO"
    WARN = "LEVEL_WARN"
    ERROR = "LEVEL_ERROR"


def _level(value: Any) -> EventLevel | str | None:
    text = _text(value)
    return EventLevel(text) if text in _EVENT_LEVELS else text


_EVENT_LEVELS = frozenset(EventLevel)


@dataclass(frozen=True, slots=True)
class Event(_JsonObject):
    """One row of an endpoint's event feed; the spec names its time ``createdAt``."""

    id: str = required_json_field("id", _nonempty_text)
    type: str | None = json_field("type", _text)
    """An open set of strings such as ``deployment.scaled``: never an enum."""
    level: EventLevel | str | None = json_field("level", _level)
    """An :class:`EventLevel` when known; an unknown level is kept as sent."""
    message: str | None = json_field("message", _text)
    created_at: str | None = json_field("createdAt", _text)
    deployment_id: str | None = json_field("deploymentId", _text)


@dataclass(frozen=True, slots=True)
class InstanceType(_JsonObject):
    """A hardware option from the public catalog, with its on-demand price per replica."""

    id: str = required_json_field("id", _nonempty_text)
    name: str | None = json_field("name", _text)
    price_cents_per_hour: int | None = json_field("priceCentsPerHour", _count)


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of a v2 list: pass ``next_cursor`` back as ``after``; ``None`` means the last page."""

    data: tuple[T, ...]
    next_cursor: str | None

    @classmethod
    def from_dict(cls, document: Any, parse_item: Callable[[Any], T]) -> Page[T]:
        """Parse every item with ``parse_item`` (e.g. ``Endpoint.from_dict``); one unusable item fails the page."""
        document = _object(document, "list page")
        data = _array_of(parse_item)(document.get("data"))
        if data is None:
            raise V2ParseError("list page field 'data' is missing or not an array")
        # An empty cursor would fetch the first page again: read it as the end, like null.
        return cls(data=data, next_cursor=_nonempty_text(document.get("next_cursor")))
