"""The slash command's text, parsed into typed commands.

Unknown or empty input is a request for help. A known command with bad
arguments raises CommandArgumentError with a message written for the person
who typed it (Slack shows it to them, ephemerally). An endpoint is named as
everywhere else (:mod:`endpoint_relay.core.endpoint_ref`): a v1 id, ``ep_…`` in
the default project, or ``proj_…/ep_…`` in one of the relay's projects; commands
carry its canonical key, the v1 id or ``proj_…/ep_…``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from endpoint_relay.core.endpoint_ref import EndpointRef, EndpointRefError, parse_endpoint_ref
from endpoint_relay.core.slack_followup import FollowUp, FollowUpKind

MAX_MUTE_SECONDS = 7 * 86_400
"""A mute longer than a week is more likely a forgotten one than a plan."""
MIN_MUTE_SECONDS = 60
MAX_TEXT_LENGTH = 500
"""Slack caps command text far below this; anything longer is not a command of ours."""
MAX_REF_LENGTH = 200
"""Longer than any id pair the allow-lists accept; checked before parsing."""

_UNIT_SECONDS = {"m": 60, "h": 3_600, "d": 86_400}
# One or more <number><unit> parts: 30m, 2h, 1d, 1h30m, 10080m. Any number of digits (the text is at most
# MAX_TEXT_LENGTH long), so 99999d is refused as too long, not as malformed.
_DURATION = re.compile(r"(?:[0-9]+[mhd])+")
_DURATION_PART = re.compile(r"([0-9]+)([mhd])")


class CommandArgumentError(ValueError):
    """A known command with unusable arguments; the message is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class StatusCommand:
    """``status <id>``: the endpoint's state, findings and mute; from a fresh cache entry, else by the worker."""

    endpoint_id: str
    """The canonical key: a v1 id or ``proj_…/ep_…``."""


@dataclass(frozen=True, slots=True)
class CheckCommand:
    """``check``: a sweep of the watched endpoints; ``check <id>``: one endpoint, fetched afresh. Run by the worker."""

    endpoint_id: str | None = None


@dataclass(frozen=True, slots=True)
class SpendCommand:
    """``spend``: every deployment holding replicas, most expensive first, with totals. Run by the worker."""


@dataclass(frozen=True, slots=True)
class MuteCommand:
    """``mute <id> <duration>``: nobody is notified about the endpoint until the mute ends."""

    endpoint_id: str
    duration_seconds: int
    """Between MIN_MUTE_SECONDS and MAX_MUTE_SECONDS: the parser refuses anything else."""


@dataclass(frozen=True, slots=True)
class UnmuteCommand:
    """``unmute <id>``: the endpoint alerts again if its findings are still open."""

    endpoint_id: str


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """``help``, or anything the parser did not understand."""

    unknown: bool = False
    """True when the user typed something we did not understand (as opposed to ``help``)."""


@dataclass(frozen=True, slots=True)
class SlashRequest:
    """The form fields the relay uses; never logged whole (response_url is a capability)."""

    command: str
    text: str
    team_id: str
    enterprise_id: str
    user_id: str
    response_url: str
    request_id: str

    @classmethod
    def from_form(cls, form: dict[str, str], *, request_id: str) -> SlashRequest:
        return cls(
            command=form.get("command") or "/together",
            text=form.get("text", ""),
            team_id=form.get("team_id", ""),
            enterprise_id=form.get("enterprise_id", ""),
            user_id=form.get("user_id", ""),
            response_url=form.get("response_url", ""),
            request_id=request_id,
        )

    @property
    def actor(self) -> str:
        """Who muted or unmuted, as the alert state store records it."""
        return f"slack:{self.team_id}:{self.user_id}"

    def followup(self, kind: FollowUpKind, endpoint_id: str | None = None) -> FollowUp:
        return FollowUp(
            kind=kind,
            response_url=self.response_url,
            user_id=self.user_id,
            team_id=self.team_id,
            endpoint_id=endpoint_id,
            correlation_id=self.request_id,
        )


Command = StatusCommand | CheckCommand | SpendCommand | MuteCommand | UnmuteCommand | HelpCommand

USAGE = {
    "status": "status <endpoint-id>",
    "check": "check [<endpoint-id>]",
    "spend": "spend",
    "mute": "mute <endpoint-id> <duration, e.g. 30m, 2h, 1d>",
    "unmute": "unmute <endpoint-id>",
    "help": "help",
}


@dataclass(frozen=True, slots=True)
class Projects:
    """Which v2 projects a command may name: the relay's allow-list, and the one a bare ``ep_…`` means."""

    default: str | None = None
    allowed: frozenset[str] = field(default_factory=frozenset)


NO_PROJECTS = Projects()


def parse_command(text: str, projects: Projects = NO_PROJECTS) -> Command:
    words = text[: MAX_TEXT_LENGTH + 1].split()
    if not words or len(text) > MAX_TEXT_LENGTH:
        return HelpCommand(unknown=bool(words))
    verb, arguments = words[0].lower(), words[1:]
    if verb == "help":
        return HelpCommand()
    if verb == "status":
        (endpoint_id,) = _arguments(verb, arguments, 1)
        return StatusCommand(endpoint_key(endpoint_id, projects))
    if verb == "check":
        if len(arguments) > 1:
            raise CommandArgumentError(f"too many arguments; usage: {USAGE[verb]}")
        return CheckCommand(endpoint_key(arguments[0], projects) if arguments else None)
    if verb == "spend":
        _arguments(verb, arguments, 0)
        return SpendCommand()
    if verb == "mute":
        endpoint_id, duration = _arguments(verb, arguments, 2)
        return MuteCommand(endpoint_key(endpoint_id, projects), parse_duration(duration))
    if verb == "unmute":
        (endpoint_id,) = _arguments(verb, arguments, 1)
        return UnmuteCommand(endpoint_key(endpoint_id, projects))
    return HelpCommand(unknown=True)


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``2h``, ``1d`` or ``1h30m``; bounded to [1 minute, 7 days]."""
    lowered = text.lower()
    if not _DURATION.fullmatch(lowered):
        raise CommandArgumentError("the duration must look like 30m, 2h or 1d (minutes, hours or days)")
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(lowered))
    if seconds < MIN_MUTE_SECONDS:
        raise CommandArgumentError("the duration must be at least 1m")
    if seconds > MAX_MUTE_SECONDS:
        raise CommandArgumentError("the duration can be at most 7d; mute again later if you need longer")
    return seconds


def format_duration(seconds: int) -> str:
    """``5400`` -> ``1h30m``: the compact form users type."""
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"


def _arguments(verb: str, arguments: list[str], expected: int) -> list[str]:
    if len(arguments) < expected:
        raise CommandArgumentError(f"missing arguments; usage: {USAGE[verb]}")
    if len(arguments) > expected:
        raise CommandArgumentError(f"too many arguments; usage: {USAGE[verb]}")
    return arguments


def endpoint_key(value: str, projects: Projects = NO_PROJECTS) -> str:
    """The canonical key of the endpoint ``value`` names; refused, without echoing it, unless the relay serves it."""
    # People paste ids from Slack messages, often wrapped in `code` formatting.
    candidate = value.strip("`")
    try:
        if len(candidate) > MAX_REF_LENGTH:
            raise EndpointRefError(candidate)
        ref = parse_endpoint_ref(candidate, projects.default)
    except EndpointRefError:
        raise CommandArgumentError(
            "that is not an endpoint id: ids look like endpoint-<lower-case letters, digits and dashes> (v1), "
            "ep_<id> (v2, in the relay's project) or proj_<id>/ep_<id>"
        ) from None
    return _served(ref, projects).key


def _served(ref: EndpointRef, projects: Projects) -> EndpointRef:
    if not ref.is_v2:
        return ref
    if ref.project_id is None:
        raise CommandArgumentError("this relay has no default project: name the endpoint as proj_<id>/ep_<id>")
    if ref.project_id not in projects.allowed:
        raise CommandArgumentError("this relay does not serve that project")
    return ref
