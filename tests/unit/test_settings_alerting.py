"""Alerting and sweep settings: defaults, parsing, and clear errors for bad values."""

from __future__ import annotations

import pytest

from endpoint_relay.core.policy import Expectations
from endpoint_relay.settings import AlertSink, Settings, SettingsError

BASE = {"RELAY_SECRET_ID": "endpoint-relay/test"}
TOPIC = "arn:aws:sns:us-east-1:123456789012:endpoint-alerts"


def _settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults_alert_nobody_and_sweep_everything() -> None:
    settings = _settings()
    assert settings.alert_table_name is None
    assert settings.alert_sinks == frozenset()
    assert settings.alert_repeat_seconds == 4 * 3600
    assert settings.watched_endpoints is None  # "all"
    assert settings.policy is None and settings.policy_parameter_name is None
    assert settings.sweep_max_workers == 10


def test_a_full_alerting_configuration_is_parsed() -> None:
    settings = _settings(
        ALERT_TABLE_NAME="relay-alerts",
        ALERT_SINKS="Slack, sns",
        ALERT_TOPIC_ARN=TOPIC,
        ALERT_REPEAT_SECONDS="3600",
        WATCHED_ENDPOINTS="endpoint-aaa, endpoint-bbb,endpoint-aaa",
        POLICY_JSON='{"defaults": {"max_replicas": 4}}',
        SWEEP_MAX_WORKERS="32",
        SWEEP_TIME_MARGIN_MS="3000",
        SLACK_READ_TIMEOUT_SECONDS="0.5",
        TOGETHER_CONSOLE_URL="https://console.example/e/{endpoint_id}",
    )
    assert settings.alert_sinks == {AlertSink.SLACK, AlertSink.SNS}
    assert settings.watched_endpoints == ("endpoint-aaa", "endpoint-bbb")
    assert settings.policy is not None and settings.policy.defaults == Expectations(max_replicas=4)
    assert settings.alert_repeat_seconds == 3600
    assert settings.sweep_max_workers == 32
    assert settings.slack_webhook.read_timeout == 0.5


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"ALERT_SINKS": "email"}, ["ALERT_SINKS", "slack and sns, or none"]),
        ({"ALERT_TABLE_NAME": "x"}, ["ALERT_TABLE_NAME"]),
        ({"ALERT_TOPIC_ARN": "endpoint-alerts"}, ["ALERT_TOPIC_ARN", "SNS topic ARN"]),
        ({"ALERT_REPEAT_SECONDS": "10"}, ["ALERT_REPEAT_SECONDS", "from 60"]),
        ({"WATCHED_ENDPOINTS": "endpoint-ok,../etc"}, ["WATCHED_ENDPOINTS", "all, or comma-separated endpoint ids"]),
        ({"WATCHED_ENDPOINTS": ","}, ["WATCHED_ENDPOINTS"]),
        ({"POLICY_JSON": '{"defaults": {"min_replicas": -2}}'}, ["POLICY_JSON", "policy.defaults.min_replicas"]),
        ({"POLICY_JSON": "{"}, ["POLICY_JSON", "not valid JSON"]),
        ({"POLICY_PARAMETER_NAME": "bad name!"}, ["POLICY_PARAMETER_NAME"]),
        ({"SWEEP_MAX_WORKERS": "0"}, ["SWEEP_MAX_WORKERS", "from 1 to 64"]),
        ({"SLACK_MAX_RETRY_AFTER_SECONDS": "60"}, ["SLACK_MAX_RETRY_AFTER_SECONDS"]),
        ({"TOGETHER_CONSOLE_URL": "https://console.example/e"}, ["TOGETHER_CONSOLE_URL", "{endpoint_id}"]),
        ({"TOGETHER_CONSOLE_URL": "http://console.example/{endpoint_id}"}, ["TOGETHER_CONSOLE_URL"]),
        ({"ALERT_SINKS": "slack"}, ["ALERT_SINKS needs ALERT_TABLE_NAME"]),
        ({"ALERT_SINKS": "sns", "ALERT_TABLE_NAME": "relay-alerts"}, ["ALERT_TOPIC_ARN is required"]),
        ({"POLICY_JSON": "{}", "POLICY_PARAMETER_NAME": "/relay/policy"}, ["POLICY_JSON or POLICY_PARAMETER_NAME"]),
    ],
)
def test_bad_values_name_the_variable_and_what_it_accepts(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(SettingsError) as raised:
        _settings(**env)
    for name in names:
        assert name in str(raised.value)


@pytest.mark.parametrize("value", ["none", "NONE", ""])
def test_no_sinks_can_be_said_explicitly(value: str) -> None:
    assert _settings(ALERT_SINKS=value).alert_sinks == frozenset()


def test_watched_endpoints_all_means_every_dedicated_endpoint() -> None:
    assert _settings(WATCHED_ENDPOINTS="ALL").watched_endpoints is None


@pytest.mark.parametrize(
    ("watched", "project", "ok"),
    [
        ("endpoint-abc,ep_one,proj_a/ep_two", "proj_a", True),
        ("ep_one", None, False),  # a bare ep_ needs the default project
        ("proj_other/ep_two", "proj_a", False),  # a project the relay does not serve
        ("proj_a/endpoint-abc", "proj_a", False),
        ("ep_../x", "proj_a", False),
    ],
)
def test_watched_endpoints_take_v1_and_v2_references(watched: str, project: str | None, ok: bool) -> None:
    env = {"WATCHED_ENDPOINTS": watched, **({"TOGETHER_PROJECT_ID": project} if project else {})}
    if ok:
        refs = _settings(**env).watched_refs
        assert [ref.key for ref in refs] == ["endpoint-abc", "proj_a/ep_one", "proj_a/ep_two"]
    else:
        with pytest.raises(SettingsError, match="WATCHED_ENDPOINTS"):
            _settings(**env)
