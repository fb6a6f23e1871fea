"""The Slack command's settings: allow-lists, response_url hosts and the function's own name."""

from __future__ import annotations

import pytest

from endpoint_relay.settings import Settings, SettingsError

BASE = {"RELAY_SECRET_ID": "endpoint-relay/test"}


def test_defaults_allow_any_team_and_only_slacks_hooks_host_over_https() -> None:
    settings = Settings.from_env(BASE)
    assert settings.slack_allowed_team_ids == frozenset()
    assert settings.slack_mute_user_ids == frozenset()
    assert settings.slack_response_url_hosts == frozenset({"hooks.slack.com"})
    assert settings.slack_response_url_allow_http is False
    assert settings.slack_worker_function is None


def test_lists_are_parsed() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "SLACK_ALLOWED_TEAM_IDS": "T0123ABCD, E0GRID01",
            "SLACK_MUTE_USER_IDS": "U0ONCALL1,W0ADMIN02,T0RELAY01:U0LEAD001",
            "SLACK_RESPONSE_URL_HOSTS": "hooks.slack.com,Hooks.Slack-Gov.com",
            "SLACK_RESPONSE_URL_ALLOW_HTTP": "true",
            "SLACK_WORKER_FUNCTION": "relay-prod-slack-worker:live",
        }
    )
    assert settings.slack_allowed_team_ids == frozenset({"T0123ABCD", "E0GRID01"})
    assert settings.slack_mute_user_ids == frozenset({"U0ONCALL1", "W0ADMIN02", "T0RELAY01:U0LEAD001"})
    assert settings.slack_response_url_hosts == frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
    assert settings.slack_response_url_allow_http is True
    assert settings.slack_worker_function == "relay-prod-slack-worker:live"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_ALLOWED_TEAM_IDS", "U0123ABCD"),
        ("SLACK_ALLOWED_TEAM_IDS", "t0123abcd"),
        ("SLACK_ALLOWED_TEAM_IDS", "T0123;T0456"),
        ("SLACK_MUTE_USER_IDS", "T0123ABCD"),
        ("SLACK_MUTE_USER_IDS", "@alice"),
        ("SLACK_RESPONSE_URL_HOSTS", "https://hooks.slack.com"),
        ("SLACK_RESPONSE_URL_HOSTS", "hooks.slack.com:443"),
        ("SLACK_RESPONSE_URL_HOSTS", ","),
        ("SLACK_RESPONSE_URL_ALLOW_HTTP", "maybe"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, name: value})
    assert name in str(caught.value)


def test_check_cooldown_defaults_to_five_minutes_and_is_bounded() -> None:
    assert Settings.from_env(BASE).slack_check_cooldown_seconds == 300
    assert Settings.from_env({**BASE, "SLACK_CHECK_COOLDOWN_SECONDS": "900"}).slack_check_cooldown_seconds == 900
    for bad in ("59", "86401", "5m"):
        with pytest.raises(SettingsError, match="SLACK_CHECK_COOLDOWN_SECONDS"):
            Settings.from_env({**BASE, "SLACK_CHECK_COOLDOWN_SECONDS": bad})
