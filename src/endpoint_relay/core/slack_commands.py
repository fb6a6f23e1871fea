"""The slash command's text, parsed into typed commands.

Unknown or empty input is a request for help. A known command with bad
arguments raises CommandArgumentError with a message written for the person
who typed it (Slack shows it to them, ephemerally).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from endpoint_relay.core.endpoint_id import MAX_ENDPOINT_ID_LENGTH, is_valid_endpoint_id
from endpoint_relay.core.slack_followup import FollowUp, FollowUpKind

MAX_MUTE_SECONDS = 7 * 86_400
"""A mute longer than a week is more likely a forgotten one than a plan."""
MIN_MUTE_SECONDS = 60
MAX_TEXT_LENGTH = 500
"""Slack caps command text far below this; anything longer is not a command of ours."""

_UNIT_SECONDS = {"m": 60, "h": 3_600, "d": 86_400}
# One or more <number><unit> parts: 30m, 2h, 1d, 1h30m.
_DURATION = re.compile(r"(?:[0-9]{1,4}[mhd])+")
_DURATION_PART = re.compile(r"([0-9]{1,4})([mhd])")


class CommandArgumentError(ValueError):
    """A known command with unusable arguments; the message is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class StatusCommand:
    """``status <id>``: the endpoint's state, findings and mute; from a fresh cache entry, else by the worker."""

    endpoint_id: str


@dataclass(frozen=True, slots=True)
class CheckCommand:
    """``check``: a sweep of the watched endpoints, always run by the Slack worker."""


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


Command = StatusCommand | CheckCommand | MuteCommand | UnmuteCommand | HelpCommand

USAGE = {
    "status": "status <endpoint-id>",
    "check": "check",
    "mute": "mute <endpoint-id> <duration, e.g. 30m, 2h, 1d>",
    "unmute": "unmute <endpoint-id>",
    "help": "help",
}


def parse_command(text: str) -> Command:
    words = text[: MAX_TEXT_LENGTH + 1].split()
    if not words or len(text) > MAX_TEXT_LENGTH:
        return HelpCommand(unknown=bool(words))
    verb, arguments = words[0].lower(), words[1:]
    if verb == "help":
        return HelpCommand()
    if verb == "status":
        (endpoint_id,) = _arguments(verb, arguments, 1)
        return StatusCommand(_endpoint_id(endpoint_id))
    if verb == "check":
        _arguments(verb, arguments, 0)
        return CheckCommand()
    if verb == "mute":
        endpoint_id, duration = _arguments(verb, arguments, 2)
        return MuteCommand(_endpoint_id(endpoint_id), parse_duration(duration))
    if verb == "unmute":
        (endpoint_id,) = _arguments(verb, arguments, 1)
        return UnmuteCommand(_endpoint_id(endpoint_id))
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


def _endpoint_id(value: str) -> str:
    # People paste ids from Slack messages, often wrapped in `code` formatting.
    candidate = value.strip("`")
    if len(candidate) > MAX_ENDPOINT_ID_LENGTH or not is_valid_endpoint_id(candidate):
        raise CommandArgumentError(
            "that is not an endpoint id: ids look like endpoint-<letters, digits and dashes>, in lower case"
        )
    return candidate
