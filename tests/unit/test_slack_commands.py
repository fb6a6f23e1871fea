"""Parsing the slash command's text into typed commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_relay.core.slack_commands import (
    MAX_MUTE_SECONDS,
    CheckCommand,
    CommandArgumentError,
    HelpCommand,
    MuteCommand,
    StatusCommand,
    UnmuteCommand,
    format_duration,
    parse_command,
    parse_duration,
)

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (f"status {ENDPOINT_ID}", StatusCommand(ENDPOINT_ID)),
        (f"  STATUS   {ENDPOINT_ID}  ", StatusCommand(ENDPOINT_ID)),
        (f"status `{ENDPOINT_ID}`", StatusCommand(ENDPOINT_ID)),
        ("check", CheckCommand()),
        ("Check", CheckCommand()),
        (f"mute {ENDPOINT_ID} 2h", MuteCommand(ENDPOINT_ID, 7_200)),
        (f"mute {ENDPOINT_ID} 30m", MuteCommand(ENDPOINT_ID, 1_800)),
        (f"mute {ENDPOINT_ID} 1d", MuteCommand(ENDPOINT_ID, 86_400)),
        (f"mute {ENDPOINT_ID} 1h30m", MuteCommand(ENDPOINT_ID, 5_400)),
        (f"mute {ENDPOINT_ID} 7d", MuteCommand(ENDPOINT_ID, MAX_MUTE_SECONDS)),
        (f"unmute {ENDPOINT_ID}", UnmuteCommand(ENDPOINT_ID)),
        ("help", HelpCommand()),
        ("", HelpCommand()),
        ("   ", HelpCommand()),
    ],
)
def test_commands_parse(text: str, command: object) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    "text",
    ["hello", "restart endpoint-a", "delete endpoint-a", "status-endpoint-a", "stat endpoint-a", "x" * 600],
)
def test_unknown_input_gets_help(text: str) -> None:
    assert parse_command(text) == HelpCommand(unknown=True)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("status", "usage: status <endpoint-id>"),
        ("status endpoint-a endpoint-b", "too many arguments"),
        ("status ../../admin", "not an endpoint id"),
        ("status endpoint-ABC", "not an endpoint id"),
        ("status <!channel>", "not an endpoint id"),
        ("status endpoint-a%2Fb", "not an endpoint id"),
        ("check now", "not an endpoint id"),
        ("check endpoint-a endpoint-b", "too many arguments"),
        ("mute", "missing arguments"),
        ("mute endpoint-a", "missing arguments"),
        ("mute endpoint-a 2h extra", "too many arguments"),
        ("mute endpoint-a soon", "duration must look like"),
        ("mute endpoint-a 2", "duration must look like"),
        ("mute endpoint-a 2w", "duration must look like"),
        ("mute endpoint-a -2h", "duration must look like"),
        ("mute endpoint-a 0m", "at least 1m"),
        ("mute endpoint-a 8d", "at most 7d"),
        ("mute endpoint-a 169h", "at most 7d"),
        ("mute endpoint-a 9999d", "at most 7d"),
        ("mute endpoint-A 2h", "not an endpoint id"),
        ("unmute", "missing arguments"),
        ("unmute endpoint-a endpoint-b", "too many arguments"),
    ],
)
def test_bad_arguments_get_a_friendly_message(text: str, hint: str) -> None:
    with pytest.raises(CommandArgumentError) as caught:
        parse_command(text)
    assert hint in caught.value.message


def test_argument_errors_do_not_echo_the_input() -> None:
    with pytest.raises(CommandArgumentError) as caught:
        parse_command("status <!channel>")
    assert "<!channel>" not in caught.value.message


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(st.integers(min_value=60, max_value=MAX_MUTE_SECONDS))
def test_formatted_durations_parse_back(seconds: int) -> None:
    whole_minutes = seconds - seconds % 60
    assert parse_duration(format_duration(whole_minutes)) == whole_minutes


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(st.text(max_size=80))
def test_any_text_parses_or_fails_politely(text: str) -> None:
    # Whatever people type, the parser answers with a command or a friendly message: never a crash.
    try:
        parse_command(text)
    except CommandArgumentError as exc:
        assert exc.message
