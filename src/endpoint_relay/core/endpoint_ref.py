"""Which endpoint a configured name means: a v1 ``endpoint-…`` id, a v2 ``ep_…`` or a ``proj_…/ep_…``.

One parser serves every place a person names an endpoint (the policy's keys,
watched endpoints, alert keys). A bare ``ep_…`` id belongs to the default
project; ``proj_…/ep_…`` names its project. v1 ids never hold a ``/`` and v2 keys
always do, so the alert state of a v1 and a v2 endpoint can never share a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from endpoint_relay.core.endpoint_id import invalid_endpoint_id, is_valid_endpoint_id
from endpoint_relay.core.v2_ids import is_valid_project_id, is_valid_v2_endpoint_id

_SEPARATOR = "/"
_MAX_SHOWN = 64
"""Only this much of a refused name is repeated in the error (it may be hostile)."""


class EndpointRefError(ValueError):
    """The text names no endpoint this relay accepts; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class EndpointRef:
    endpoint_id: str
    project_id: str | None = None
    """A v2 endpoint's project; ``None`` for v1, or for a bare ``ep_…`` when no default project is known."""

    @property
    def is_v2(self) -> bool:
        return not is_valid_endpoint_id(self.endpoint_id)

    @property
    def key(self) -> str:
        """The canonical text: the v1 id, ``proj_…/ep_…``, or a bare ``ep_…`` whose project is not known."""
        if self.project_id is None:
            return self.endpoint_id
        return f"{self.project_id}{_SEPARATOR}{self.endpoint_id}"


def v2_key(project_id: str, endpoint_id: str) -> str:
    """The alert-state key of a v2 endpoint: never equal to a v1 id."""
    return EndpointRef(endpoint_id, project_id).key


def parse_endpoint_ref(text: str, default_project: str | None) -> EndpointRef:
    """``endpoint-…``, ``ep_…`` (in ``default_project``) or ``proj_…/ep_…``; anything else is refused."""
    if is_valid_endpoint_id(text):
        return EndpointRef(text)
    project, separator, endpoint_id = text.partition(_SEPARATOR)
    if not separator:
        if is_valid_v2_endpoint_id(text):
            return EndpointRef(text, default_project)
    elif is_valid_project_id(project) and is_valid_v2_endpoint_id(endpoint_id):
        return EndpointRef(endpoint_id, project)
    raise EndpointRefError(
        f"{text[:_MAX_SHOWN]!r} is not an endpoint: expected 'endpoint-' and lowercase letters, digits and "
        "dashes (v1), 'ep_…' (v2, in the default project) or 'proj_…/ep_…'"
    )


def is_alert_key(key: str) -> bool:
    """A v1 id or ``proj_…/ep_…``: what the alert state is kept under, and what a Slack follow-up may name."""
    try:
        ref = parse_endpoint_ref(key, default_project=None)
    except EndpointRefError:
        return False
    return not ref.is_v2 or ref.project_id is not None


def require_alert_key(key: str) -> str:
    """A key the alert state may be kept under: a v1 id or ``proj_…/ep_…`` (a bare ``ep_…`` names no project).

    Refused like a bad v1 id, without echoing the value.
    """
    if not is_alert_key(key):
        raise invalid_endpoint_id()
    return key
