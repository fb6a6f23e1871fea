"""Typed view of Together's DedicatedEndpoint.

The relay passes the upstream JSON through unchanged; this model exists so the
relay can validate what it caches and reason about state and replicas. It is
deliberately tolerant: unknown fields are ignored and an unknown ``state`` is
kept as a string (Together has added FAILED once already).

The records here, and the others a v1 lookup's cold start defines, are ``NamedTuple``s rather than
dataclasses: a frozen dataclass compiles its methods when it is defined (about 0.4 ms each here, 11 ms
over a lookup's init); a NamedTuple takes about 60 µs (benchmarks/PROFILE.md).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, NamedTuple


class EndpointState(StrEnum):
    PENDING = "PENDING"
    STARTING = "STARTING"
    STARTED = "STARTED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"
    FAILED = "FAILED"


KNOWN_STATES = frozenset(state.value for state in EndpointState)


class EndpointParseError(ValueError):
    """The upstream body is not a DedicatedEndpoint this relay can serve."""


class Endpoint(NamedTuple):
    """The fields of a v1 endpoint that decisions read; the body itself passes through as sent."""

    id: str
    name: str
    display_name: str
    model: str
    hardware: str
    owner: str
    state: str
    """Upstream state as sent; compare with :class:`EndpointState` values."""
    autoscaling: Autoscaling | None
    """``None`` when upstream omitted it or sent something unreadable."""
    created_at: str

    @property
    def state_is_known(self) -> bool:
        return self.state in KNOWN_STATES

    @classmethod
    def from_json(cls, body: bytes | str) -> Endpoint:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EndpointParseError("body is not JSON") from exc
        except RecursionError:  # deeply nested arrays/objects exhaust the decoder, well under the size cap
            raise EndpointParseError("body is nested too deeply") from None
        return cls.from_dict(document)

    @classmethod
    def from_dict(cls, document: Any) -> Endpoint:
        if not isinstance(document, dict):
            raise EndpointParseError("body is not a JSON object")
        endpoint_id = document.get("id")
        state = document.get("state")
        if not isinstance(endpoint_id, str) or not endpoint_id:
            raise EndpointParseError("field 'id' is missing or not a string")
        if not isinstance(state, str) or not state:
            raise EndpointParseError("field 'state' is missing or not a string")
        return cls(
            id=endpoint_id,
            name=_text(document, "name"),
            display_name=_text(document, "display_name"),
            model=_text(document, "model"),
            hardware=_text(document, "hardware"),
            owner=_text(document, "owner"),
            state=state,
            autoscaling=_autoscaling(document.get("autoscaling")),
            created_at=_text(document, "created_at"),
        )


class Autoscaling(NamedTuple):
    """The replica bounds Together scales the endpoint between."""

    min_replicas: int
    max_replicas: int


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    return value if isinstance(value, str) else ""


def _autoscaling(value: Any) -> Autoscaling | None:
    if not isinstance(value, dict):
        return None
    low, high = value.get("min_replicas"), value.get("max_replicas")
    # bool is an int subclass; a boolean replica count is unreadable, not 0/1.
    if type(low) is not int or type(high) is not int:
        return None
    return Autoscaling(min_replicas=low, max_replicas=high)
