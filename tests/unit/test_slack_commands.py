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
    Projects,
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
        ("mute endpoint-a 99999d", "at most 7d"),
        ("mute endpoint-a 100000m", "at most 7d"),
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


def test_a_week_may_be_typed_in_minutes() -> None:
    assert parse_duration("10080m") == MAX_MUTE_SECONDS


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


# -- v2 endpoints: ep_… in the default project, proj_…/ep_… in a served one ---------------------------------------

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
OTHER = "proj_9Zz9Zz9Zz9Zz9Zz9Zz9Zz"
EP = "ep_8Hq2mZk4TnR7vXw1Lc9Pd"
KEY = f"{PROJECT}/{EP}"
SERVED = Projects(default=PROJECT, allowed=frozenset({PROJECT, OTHER}))


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (f"status {EP}", StatusCommand(KEY)),
        (f"status `{EP}`", StatusCommand(KEY)),
        (f"status {KEY}", StatusCommand(KEY)),
        (f"status {OTHER}/{EP}", StatusCommand(f"{OTHER}/{EP}")),
        (f"check {EP}", CheckCommand(KEY)),
        (f"check {ENDPOINT_ID}", CheckCommand(ENDPOINT_ID)),
        ("check", CheckCommand()),
        (f"mute {EP} 2h", MuteCommand(KEY, 7200)),
        (f"unmute {KEY}", UnmuteCommand(KEY)),
        (f"status {ENDPOINT_ID}", StatusCommand(ENDPOINT_ID)),
    ],
)
def test_v2_endpoints_are_named_by_their_canonical_key(text: str, command: object) -> None:
    # Given the relay's default project and allow-list; a bare ep_ id means the default project
    assert parse_command(text, SERVED) == command


@pytest.mark.parametrize(
    "name",
    [
        "ep_",
        "ep_../../admin",
        "ep_a%2Fb",
        "ep_a/b",
        "ep_<!channel>",
        f"{PROJECT}/",
        f"/{EP}",
        f"{PROJECT}/{EP}/events",
        f"{PROJECT}//{EP}",
        f"{PROJECT}/endpoint-a",
        f"PROJ_x/{EP}",
        "proj_<!here>/ep_x",
        "ep_" + "a" * 300,
        f"{PROJECT}/{EP}\u200b",
        "dep_5Jm2Qx8Rt4Wn7Ky1Vb3Hc",
    ],
)
def test_hostile_v2_names_are_refused_without_being_echoed(name: str) -> None:
    for verb in ("status", "check", "unmute"):
        with pytest.raises(CommandArgumentError) as caught:
            parse_command(f"{verb} {name}", SERVED)
        assert "not an endpoint id" in caught.value.message
        assert len(name) < 5 or name not in caught.value.message


def test_a_project_the_relay_does_not_serve_is_refused_politely() -> None:
    with pytest.raises(CommandArgumentError) as caught:
        parse_command(f"status proj_notserved0000000001/{EP}", SERVED)
    assert caught.value.message == "this relay does not serve that project"


def test_a_bare_ep_id_needs_a_default_project() -> None:
    # Given a relay without TOGETHER_PROJECT_ID
    with pytest.raises(CommandArgumentError) as caught:
        parse_command(f"status {EP}", Projects(allowed=frozenset({PROJECT})))
    assert "proj_<id>/ep_<id>" in caught.value.message
    # And with no projects at all, v2 is refused (v1 ids still parse)
    with pytest.raises(CommandArgumentError):
        parse_command(f"mute {KEY} 1h")
    assert parse_command(f"mute {ENDPOINT_ID} 1h") == MuteCommand(ENDPOINT_ID, 3600)


@settings(deadline=None)  # no per-example deadline: the machine is shared and noisy
@given(st.text(alphabet="proj_ep/-`%.<>!@ABCxyz019", max_size=60))
def test_any_v2_looking_text_yields_a_served_key_or_a_polite_refusal(text: str) -> None:
    try:
        command = parse_command(f"status {text}", SERVED)
    except CommandArgumentError as exc:
        assert exc.message
        return
    if isinstance(command, StatusCommand):
        project, _, endpoint_id = command.endpoint_id.rpartition("/")
        assert endpoint_id.startswith(("ep_", "endpoint-"))
        assert not project or project in SERVED.allowed
