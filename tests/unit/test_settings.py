"""Settings.from_env: each variable's default, a valid value, and a clear error for a bad one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from endpoint_relay.settings import AuthMode, Settings, SettingsError

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:endpoint-relay-AbCdEf"


def _settings(**variables: str) -> Settings:
    return Settings.from_env({"RELAY_SECRET_ID": SECRET_ID, **variables})


# -- RELAY_SECRET_ID -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ", [{}, {"RELAY_SECRET_ID": ""}, {"RELAY_SECRET_ID": "  "}], ids=["unset", "", "blank"]
)
def test_the_secret_id_is_required(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="RELAY_SECRET_ID is required"):
        Settings.from_env(environ)


def test_the_secret_id_is_read_trimmed() -> None:
    assert Settings.from_env({"RELAY_SECRET_ID": f" {SECRET_ID} "}).secret_id == SECRET_ID


# -- defaults ------------------------------------------------------------------------------------------------------


def test_defaults_match_the_documented_behaviour() -> None:
    settings = _settings()

    assert settings.together_base_url == "https://api.together.ai/v1"
    assert settings.secret_max_age == 300
    assert settings.cache_ttl == 30  # fresh TTL 30 s
    assert settings.cache_stale_window == 900  # serve stale for 15 min
    assert settings.cache_negative_ttl == 10  # remember a 404 for 10 s
    assert settings.cache_table_name is None
    assert settings.upstream_max_response_bytes == 256 * 1024
    assert settings.auth_mode is AuthMode.TOKEN
    assert settings.xray_sdk_enabled is False


def test_upstream_defaults_are_the_class_defaults_and_fit_the_budget() -> None:
    settings = _settings()
    for name in (
        "upstream_connect_timeout",
        "upstream_read_timeout",
        "upstream_max_retries",
        "upstream_max_retry_after",
    ):
        assert getattr(settings, name) == getattr(Settings, name)
    assert settings.upstream_worst_case_seconds() <= 25


VARIABLES = [
    ("TOGETHER_API_BASE_URL", "together_base_url"),
    ("SECRET_MAX_AGE_SECONDS", "secret_max_age"),
    ("CACHE_TTL_SECONDS", "cache_ttl"),
    ("CACHE_STALE_SECONDS", "cache_stale_window"),
    ("CACHE_NEGATIVE_TTL_SECONDS", "cache_negative_ttl"),
    ("CACHE_TABLE_NAME", "cache_table_name"),
    ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "upstream_connect_timeout"),
    ("UPSTREAM_READ_TIMEOUT_SECONDS", "upstream_read_timeout"),
    ("UPSTREAM_MAX_RETRIES", "upstream_max_retries"),
    ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "upstream_max_retry_after"),
    ("UPSTREAM_MAX_RESPONSE_BYTES", "upstream_max_response_bytes"),
    ("RELAY_AUTH_MODE", "auth_mode"),
    ("XRAY_SDK_ENABLED", "xray_sdk_enabled"),
]


@pytest.mark.parametrize(("variable", "attribute"), VARIABLES, ids=[row[0] for row in VARIABLES])
@pytest.mark.parametrize("raw", ["", "   ", "\t\n"], ids=["empty", "spaces", "whitespace"])
def test_an_empty_or_blank_variable_means_the_default(variable: str, attribute: str, raw: str) -> None:
    assert getattr(_settings(**{variable: raw}), attribute) == getattr(_settings(), attribute)


# -- valid values --------------------------------------------------------------------------------------------------

VALID = [
    ("TOGETHER_API_BASE_URL", "http://127.0.0.1:8080/v1/", "together_base_url", "http://127.0.0.1:8080/v1"),
    ("TOGETHER_API_BASE_URL", "https://proxy.internal/together/v1", "together_base_url", None),
    ("TOGETHER_API_BASE_URL", "http://[::1]:9000/v1", "together_base_url", None),
    ("TOGETHER_API_BASE_URL", "http://localhost:8080/v1", "together_base_url", None),
    ("TOGETHER_API_BASE_URL", "http://127.3.2.1/v1", "together_base_url", None),  # all of 127.0.0.0/8
    ("SECRET_MAX_AGE_SECONDS", "0", "secret_max_age", 0),
    ("SECRET_MAX_AGE_SECONDS", "86400", "secret_max_age", 86_400),
    ("CACHE_TTL_SECONDS", "0", "cache_ttl", 0),
    ("CACHE_TTL_SECONDS", " 45 ", "cache_ttl", 45),
    ("CACHE_STALE_SECONDS", "604800", "cache_stale_window", 604_800),
    ("CACHE_STALE_SECONDS", "0", "cache_stale_window", 0),
    ("CACHE_NEGATIVE_TTL_SECONDS", "3600", "cache_negative_ttl", 3_600),
    ("CACHE_TABLE_NAME", "endpoint-relay-cache_v1.2", "cache_table_name", None),
    ("CACHE_TABLE_NAME", "arn:aws:dynamodb:eu-west-1:123456789012:table/relay-cache", "cache_table_name", None),
    ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0.05", "upstream_connect_timeout", 0.05),
    ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "1", "upstream_connect_timeout", 1.0),
    ("UPSTREAM_READ_TIMEOUT_SECONDS", "2.5", "upstream_read_timeout", 2.5),
    ("UPSTREAM_MAX_RETRIES", "0", "upstream_max_retries", 0),
    ("UPSTREAM_MAX_RETRIES", "1", "upstream_max_retries", 1),
    ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "0", "upstream_max_retry_after", 0.0),
    ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "1.5", "upstream_max_retry_after", 1.5),
    ("UPSTREAM_MAX_RESPONSE_BYTES", "1024", "upstream_max_response_bytes", 1_024),
    ("UPSTREAM_MAX_RESPONSE_BYTES", "10485760", "upstream_max_response_bytes", 10 * 1024 * 1024),
    ("RELAY_AUTH_MODE", "iam", "auth_mode", AuthMode.IAM),
    ("RELAY_AUTH_MODE", "IAM", "auth_mode", AuthMode.IAM),
    ("RELAY_AUTH_MODE", "token", "auth_mode", AuthMode.TOKEN),
    ("XRAY_SDK_ENABLED", "true", "xray_sdk_enabled", True),
    ("XRAY_SDK_ENABLED", "TRUE", "xray_sdk_enabled", True),
    ("XRAY_SDK_ENABLED", "1", "xray_sdk_enabled", True),
    ("XRAY_SDK_ENABLED", "yes", "xray_sdk_enabled", True),
    ("XRAY_SDK_ENABLED", "false", "xray_sdk_enabled", False),
    ("XRAY_SDK_ENABLED", "0", "xray_sdk_enabled", False),
    ("XRAY_SDK_ENABLED", "No", "xray_sdk_enabled", False),
]


@pytest.mark.parametrize(("variable", "raw", "attribute", "expected"), VALID, ids=[f"{r[0]}={r[1]}" for r in VALID])
def test_a_valid_value_is_read(variable: str, raw: str, attribute: str, expected: Any) -> None:
    value = getattr(_settings(**{variable: raw}), attribute)
    assert value == (raw if expected is None else expected)


# -- invalid values ------------------------------------------------------------------------------------------------

INT_RANGES = {
    "SECRET_MAX_AGE_SECONDS": "from 0 to 86400",
    "CACHE_TTL_SECONDS": "from 0 to 86400",
    "CACHE_STALE_SECONDS": "from 0 to 604800",
    "CACHE_NEGATIVE_TTL_SECONDS": "from 0 to 3600",
    "UPSTREAM_MAX_RETRIES": "from 0 to 5",
    "UPSTREAM_MAX_RESPONSE_BYTES": "from 1024 to 10485760",
}
FLOAT_RANGES = {
    "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "from 0.05 to 10",
    "UPSTREAM_READ_TIMEOUT_SECONDS": "from 0.05 to 25",
    "UPSTREAM_MAX_RETRY_AFTER_SECONDS": "from 0 to 10",
}
_INT_BAD = {
    "SECRET_MAX_AGE_SECONDS": ["-1", "86401", "five", "1.5", "30s", "0x10"],
    "CACHE_TTL_SECONDS": ["-1", "86401", "thirty", "2.0"],
    "CACHE_STALE_SECONDS": ["-5", "604801", "15m"],
    "CACHE_NEGATIVE_TTL_SECONDS": ["-1", "3601", "ten"],
    "UPSTREAM_MAX_RETRIES": ["-1", "6", "many", "1.0"],
    "UPSTREAM_MAX_RESPONSE_BYTES": ["1023", "10485761", "256k", "-1"],
}
_FLOAT_BAD = {
    "UPSTREAM_CONNECT_TIMEOUT_SECONDS": ["0", "0.01", "10.5", "nan", "inf", "-1", "2s"],
    "UPSTREAM_READ_TIMEOUT_SECONDS": ["0", "25.1", "NaN", "-inf", "five"],
    "UPSTREAM_MAX_RETRY_AFTER_SECONDS": ["-0.1", "10.01", "nan", "soon"],
}
INVALID = (
    [(variable, raw, f"whole number {INT_RANGES[variable]}") for variable, bad in _INT_BAD.items() for raw in bad]
    + [(variable, raw, f"number {FLOAT_RANGES[variable]}") for variable, bad in _FLOAT_BAD.items() for raw in bad]
    + [
        ("TOGETHER_API_BASE_URL", raw, "https base URL")
        for raw in [
            # The key would travel in cleartext: http only to loopback
            "http://api.together.ai/v1",
            "http://10.0.0.5:8080/v1",
            "http://127.0.0.1.example.com/v1",
            "http://localhost.example.com/v1",
            "http://[::2]/v1",
            "api.together.ai/v1",
            "ftp://api.together.ai/v1",
            "file:///etc/passwd",
            "https://",
            "https://:443/v1",
            "https://api.together.ai/v1?key=1",
            "https://api.together.ai/v1#x",
            "http://[::1/v1",
            "http://127.0.0.1:99999/v1",
            "http://127.0.0.1:port/v1",
        ]
    ]
    + [
        ("CACHE_TABLE_NAME", raw, "DynamoDB table name")
        for raw in ["ab", "a" * 256, "relay cache", "relay/cache", "relay-cache;drop", "arn:aws:s3:::bucket"]
    ]
    + [("RELAY_AUTH_MODE", raw, "token, iam") for raw in ["sigv4", "none", "tokens", "iam,token"]]
    + [("XRAY_SDK_ENABLED", raw, "true or false") for raw in ["maybe", "2", "on", "enabled"]]
)


@pytest.mark.parametrize(("variable", "raw", "accepted"), INVALID, ids=[f"{r[0]}={r[1]!r}" for r in INVALID])
def test_an_invalid_value_names_the_variable_and_what_it_accepts(variable: str, raw: str, accepted: str) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(**{variable: raw})
    message = str(caught.value)
    assert message.startswith(f"{variable}=")
    assert accepted in message
    assert caught.value.__cause__ is None  # no parser internals chained onto the message


def test_every_variable_has_invalid_cases() -> None:
    # Variables that accept any text have no invalid case; everything else must be covered above.
    assert {variable for variable, _ in VARIABLES} == {variable for variable, _, _ in INVALID}


def test_settings_errors_are_value_errors() -> None:
    assert issubclass(SettingsError, ValueError)


# -- the upstream time budget --------------------------------------------------------------------------------------


def test_worst_case_counts_every_attempt_and_every_wait() -> None:
    settings = _settings(
        UPSTREAM_MAX_RETRIES="2",
        UPSTREAM_CONNECT_TIMEOUT_SECONDS="1",
        UPSTREAM_READ_TIMEOUT_SECONDS="3",
        UPSTREAM_MAX_RETRY_AFTER_SECONDS="2",
    )
    assert settings.upstream_worst_case_seconds() == 3 * (1 + 3) + 2 * 2


def test_a_budget_of_exactly_25_seconds_is_allowed() -> None:
    settings = _settings(
        UPSTREAM_MAX_RETRIES="0", UPSTREAM_CONNECT_TIMEOUT_SECONDS="10", UPSTREAM_READ_TIMEOUT_SECONDS="15"
    )
    assert settings.upstream_worst_case_seconds() == 25


@pytest.mark.parametrize(
    "variables",
    [
        {
            "UPSTREAM_MAX_RETRIES": "0",
            "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "10",
            "UPSTREAM_READ_TIMEOUT_SECONDS": "15.1",
        },
        {"UPSTREAM_MAX_RETRIES": "5"},
        {"UPSTREAM_READ_TIMEOUT_SECONDS": "25"},
        {"UPSTREAM_MAX_RETRIES": "3", "UPSTREAM_MAX_RETRY_AFTER_SECONDS": "10", "UPSTREAM_READ_TIMEOUT_SECONDS": "0.5"},
    ],
    ids=["just-over", "many-retries", "long-read", "long-waits"],
)
def test_a_combination_over_the_budget_is_refused_naming_all_four_variables(variables: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(**variables)
    message = str(caught.value)
    for variable in (
        "UPSTREAM_MAX_RETRIES",
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS",
        "UPSTREAM_READ_TIMEOUT_SECONDS",
        "UPSTREAM_MAX_RETRY_AFTER_SECONDS",
    ):
        assert variable in message
    assert "25s" in message


# -- shape ---------------------------------------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    settings = _settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.cache_ttl = 5  # type: ignore[misc]


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_SECRET_ID", "endpoint-relay/from-process")
    monkeypatch.setenv("CACHE_TTL_SECONDS", "12")
    settings = Settings.from_env()
    assert (settings.secret_id, settings.cache_ttl) == ("endpoint-relay/from-process", 12)
