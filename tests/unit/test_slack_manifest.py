"""slack/manifest.yaml agrees with the stack it points at and with the command it declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.stack import load_template
from endpoint_relay.core import slack_replies
from endpoint_relay.core.slack_commands import USAGE, HelpCommand, parse_command

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = ROOT / "slack" / "manifest.yaml"
ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
# What a user types in place of each placeholder of the usage hint.
_EXAMPLES = {"[<endpoint-id>]": ENDPOINT_ID, "<endpoint-id>": ENDPOINT_ID, "<30m, 2h, 1d>": "2h"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def command(manifest: dict[str, Any]) -> dict[str, Any]:
    (only,) = manifest["features"]["slash_commands"]
    return dict(only)


def _hint_alternatives(command: dict[str, Any]) -> list[str]:
    return [part.strip() for part in str(command["usage_hint"]).split("|")]


def test_the_manifest_declares_the_command_the_webhook_and_nothing_more(
    manifest: dict[str, Any], command: dict[str, Any]
) -> None:
    assert manifest["display_information"]["name"]
    assert command["command"] == "/together"
    assert command["should_escape"] is False
    assert command["description"] and len(command["description"]) <= 2000
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["commands", "incoming-webhook"]
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_the_command_url_is_the_stack_output_it_names(command: dict[str, Any]) -> None:
    # Given the stack's outputs
    outputs = load_template()["Outputs"]
    # Then the manifest's comments name an output that exists, and its URL has that output's path
    assert "SlackCommandUrl" in outputs
    assert "SlackCommandUrl" in MANIFEST_PATH.read_text(encoding="utf-8")
    (substituted,) = dict(outputs["SlackCommandUrl"]["Value"]).values()  # !Sub https://${RelayApi}.../path
    path = str(substituted).rsplit("}", 1)[1]
    assert path == "/slack/commands"
    assert str(command["url"]).startswith("https://") and str(command["url"]).endswith(path)


def test_the_manifest_says_where_the_secret_values_go() -> None:
    text = MANIFEST_PATH.read_text(encoding="utf-8")
    # The names of the relay secret's keys (core/secrets.py reads them)
    assert "slack_webhook_url" in text and "slack_signing_secret" in text


def test_the_usage_hint_lists_exactly_the_commands_the_parser_accepts(command: dict[str, Any]) -> None:
    alternatives = _hint_alternatives(command)
    verbs = [alternative.split()[0] for alternative in alternatives]
    # The same commands, in the same order, as the parser's usage table and the help reply
    assert verbs == list(USAGE)
    help_text = str(slack_replies.help_reply("/together"))
    assert all(f"/together {verb}" in help_text for verb in verbs)
    # And each alternative, with its placeholders filled in as a user would, is a command the parser takes
    for alternative in alternatives:
        typed = alternative
        for placeholder, example in _EXAMPLES.items():
            typed = typed.replace(placeholder, example)
        parsed = parse_command(typed)
        assert not (isinstance(parsed, HelpCommand) and parsed.unknown), alternative
    assert len(str(command["usage_hint"])) <= 1000
