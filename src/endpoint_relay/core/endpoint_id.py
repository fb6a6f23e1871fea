"""Strict allow-list for endpoint ids, checked before any secret fetch or upstream call."""

from __future__ import annotations

import re

from endpoint_relay.core.errors import InvalidEndpointIdError

# Together ids look like ``endpoint-<uuid>``. ASCII only, so Unicode look-alikes,
# separators, CR/LF, NUL and percent-escapes can never reach the upstream URL.
MAX_ENDPOINT_ID_LENGTH = 100
V2_ENDPOINT_PREFIX = "ep_"
"""A v2 endpoint id's prefix (:mod:`endpoint_relay.core.v2_ids` checks the rest); here, so the v1 route can
tell one apart without importing the v2 modules."""
_ENDPOINT_ID = re.compile(r"endpoint-[a-z0-9](?:[a-z0-9-]{0,90}[a-z0-9])?")


def is_valid_endpoint_id(value: str) -> bool:
    return len(value) <= MAX_ENDPOINT_ID_LENGTH and _ENDPOINT_ID.fullmatch(value) is not None


def invalid_endpoint_id() -> InvalidEndpointIdError:
    # The offending value is not echoed: it is attacker-controlled.
    return InvalidEndpointIdError(
        "endpointId must be 'endpoint-' followed by lowercase letters, digits and dashes",
        param="endpointId",
    )


def require_endpoint_id(value: str) -> str:
    if not is_valid_endpoint_id(value):
        raise invalid_endpoint_id()
    return value
