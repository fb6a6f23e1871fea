"""Settings.from_env: each variable's default, a valid value, and a clear error for a bad one, by concept.

Each concept's class lists its variables with valid and invalid values; ``VariableTable``
runs the same three checks on every row (blank means the default, a valid value is read,
an invalid one names the variable and what it accepts). Alerting and Slack settings have
their own files (test_settings_alerting.py, test_settings_slack.py).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar

import pytest

from endpoint_relay.settings import AuthMode, Settings, SettingsError, UpstreamSettings

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:endpoint-relay-AbCdEf"
BLANKS = {"empty": "", "spaces": "   ", "whitespace": "\t\n"}

Variable = tuple[str, str]
"""(environment variable, Settings attribute, dotted within a group)"""
Valid = tuple[str, str, str, Any]
"""(variable, raw value, attribute, expected value; None: the raw value itself)"""
Invalid = tuple[str, str, str]
"""(variable, raw value, what the error says it accepts)"""


def _settings(**variables: str) -> Settings:
    return Settings.from_env({"RELAY_SECRET_ID": SECRET_ID, **variables})


def _whole_numbers(variable: str, accepted: str, *bad: str) -> list[Invalid]:
    return [(variable, raw, f"whole number {accepted}") for raw in bad]


def _numbers(variable: str, accepted: str, *bad: str) -> list[Invalid]:
    return [(variable, raw, f"number {accepted}") for raw in bad]


class VariableTable:
    """The three checks every variable gets; subclasses list the rows (see pytest_generate_tests)."""

    VARIABLES: ClassVar[list[Variable]] = []
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def test_an_empty_or_blank_variable_means_the_default(self, variable: str, attribute: str, raw: str) -> None:
        assert attrgetter(attribute)(_settings(**{variable: raw})) == attrgetter(attribute)(_settings())

    def test_a_valid_value_is_read(self, variable: str, raw: str, attribute: str, expected: Any) -> None:
        value = attrgetter(attribute)(_settings(**{variable: raw}))
        assert value == (raw if expected is None else expected)

    def test_an_invalid_value_names_the_variable_and_what_it_accepts(
        self, variable: str, raw: str, accepted: str
    ) -> None:
        with pytest.raises(SettingsError) as caught:
            _settings(**{variable: raw})
        message = str(caught.value)
        assert message.startswith(f"{variable}=")
        assert accepted in message
        assert caught.value.__cause__ is None  # no parser internals chained onto the message


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    table = metafunc.cls
    if table is None or not issubclass(table, VariableTable):
        return
    test = metafunc.function.__name__
    if test == "test_an_empty_or_blank_variable_means_the_default":
        metafunc.parametrize(("variable", "attribute"), table.VARIABLES, ids=[row[0] for row in table.VARIABLES])
        metafunc.parametrize("raw", list(BLANKS.values()), ids=list(BLANKS))
    elif test == "test_a_valid_value_is_read":
        ids = [f"{row[0]}={row[1]}" for row in table.VALID]
        metafunc.parametrize(("variable", "raw", "attribute", "expected"), table.VALID, ids=ids)
    elif test == "test_an_invalid_value_names_the_variable_and_what_it_accepts":
        ids = [f"{row[0]}={row[1]!r}" for row in table.INVALID]
        metafunc.parametrize(("variable", "raw", "accepted"), table.INVALID, ids=ids)


# -- the relay's secret --------------------------------------------------------------------------------------------


class TestSecret(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [("SECRET_MAX_AGE_SECONDS", "secret_max_age")]
    VALID: ClassVar[list[Valid]] = [
        ("SECRET_MAX_AGE_SECONDS", "0", "secret_max_age", 0),
        ("SECRET_MAX_AGE_SECONDS", "86400", "secret_max_age", 86_400),
    ]
    INVALID: ClassVar[list[Invalid]] = _whole_numbers(
        "SECRET_MAX_AGE_SECONDS", "from 0 to 86400", "-1", "86401", "five", "1.5", "30s", "0x10"
    )

    @pytest.mark.parametrize(
        "environ", [{}, {"RELAY_SECRET_ID": ""}, {"RELAY_SECRET_ID": "  "}], ids=["unset", "", "blank"]
    )
    def test_the_secret_id_is_required(self, environ: dict[str, str]) -> None:
        with pytest.raises(SettingsError, match="RELAY_SECRET_ID is required"):
            Settings.from_env(environ)

    def test_the_secret_id_is_read_trimmed(self) -> None:
        assert Settings.from_env({"RELAY_SECRET_ID": f" {SECRET_ID} "}).secret_id == SECRET_ID

    def test_the_default_max_age_is_five_minutes(self) -> None:
        assert _settings().secret_max_age == 300


# -- Together upstream ---------------------------------------------------------------------------------------------


class TestUpstream(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [
        ("TOGETHER_API_BASE_URL", "upstream.base_url"),
        ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "upstream.connect_timeout"),
        ("UPSTREAM_READ_TIMEOUT_SECONDS", "upstream.read_timeout"),
        ("UPSTREAM_MAX_RETRIES", "upstream.max_retries"),
        ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "upstream.max_retry_after"),
        ("UPSTREAM_MAX_RESPONSE_BYTES", "upstream.max_response_bytes"),
    ]
    VALID: ClassVar[list[Valid]] = [
        ("TOGETHER_API_BASE_URL", "http://127.0.0.1:8080/v1/", "upstream.base_url", "http://127.0.0.1:8080/v1"),
        ("TOGETHER_API_BASE_URL", "https://proxy.internal/together/v1", "upstream.base_url", None),
        ("TOGETHER_API_BASE_URL", "http://[::1]:9000/v1", "upstream.base_url", None),
        ("TOGETHER_API_BASE_URL", "http://localhost:8080/v1", "upstream.base_url", None),
        ("TOGETHER_API_BASE_URL", "http://127.3.2.1/v1", "upstream.base_url", None),  # all of 127.0.0.0/8
        ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0.05", "upstream.connect_timeout", 0.05),
        ("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "1", "upstream.connect_timeout", 1.0),
        ("UPSTREAM_READ_TIMEOUT_SECONDS", "2.5", "upstream.read_timeout", 2.5),
        ("UPSTREAM_MAX_RETRIES", "0", "upstream.max_retries", 0),
        ("UPSTREAM_MAX_RETRIES", "1", "upstream.max_retries", 1),
        ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "0", "upstream.max_retry_after", 0.0),
        ("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "1.5", "upstream.max_retry_after", 1.5),
        ("UPSTREAM_MAX_RESPONSE_BYTES", "1024", "upstream.max_response_bytes", 1_024),
        ("UPSTREAM_MAX_RESPONSE_BYTES", "10485760", "upstream.max_response_bytes", 10 * 1024 * 1024),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        *_whole_numbers("UPSTREAM_MAX_RETRIES", "from 0 to 5", "-1", "6", "many", "1.0"),
        *_whole_numbers("UPSTREAM_MAX_RESPONSE_BYTES", "from 1024 to 10485760", "1023", "10485761", "256k", "-1"),
        *_numbers("UPSTREAM_CONNECT_TIMEOUT_SECONDS", "from 0.05 to 10", "0", "0.01", "10.5", "nan", "inf", "-1", "2s"),
        *_numbers("UPSTREAM_READ_TIMEOUT_SECONDS", "from 0.05 to 25", "0", "25.1", "NaN", "-inf", "five"),
        *_numbers("UPSTREAM_MAX_RETRY_AFTER_SECONDS", "from 0 to 10", "-0.1", "10.01", "nan", "soon"),
        *[
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
        ],
    ]

    @pytest.mark.parametrize(
        "base_url", ["http://api.together.ai/v1", "http://10.0.0.5:8080/v1", "http://localhost.example.com/v1"]
    )
    def test_the_together_key_never_travels_in_cleartext(self, base_url: str) -> None:
        # Review defect: an http:// base URL off loopback would send the organisation's key unencrypted.
        with pytest.raises(SettingsError, match="TOGETHER_API_BASE_URL"):
            _settings(TOGETHER_API_BASE_URL=base_url)

    def test_defaults_match_the_documented_behaviour(self) -> None:
        settings = _settings()
        assert settings.upstream.base_url == "https://api.together.ai/v1"
        assert settings.upstream.max_response_bytes == 1024 * 1024

    def test_upstream_defaults_are_the_class_defaults_and_fit_the_budget(self) -> None:
        settings = _settings()
        for name in ("connect_timeout", "read_timeout", "max_retries", "max_retry_after"):
            assert getattr(settings.upstream, name) == UpstreamSettings._field_defaults[name]
        assert settings.upstream.worst_case_seconds() <= 25

    def test_worst_case_counts_every_attempt_and_every_wait(self) -> None:
        settings = _settings(
            UPSTREAM_MAX_RETRIES="2",
            UPSTREAM_CONNECT_TIMEOUT_SECONDS="1",
            UPSTREAM_READ_TIMEOUT_SECONDS="3",
            UPSTREAM_MAX_RETRY_AFTER_SECONDS="2",
        )
        assert settings.upstream.worst_case_seconds() == 3 * (1 + 3) + 2 * 2

    def test_a_budget_of_exactly_25_seconds_is_allowed(self) -> None:
        settings = _settings(
            UPSTREAM_MAX_RETRIES="0", UPSTREAM_CONNECT_TIMEOUT_SECONDS="10", UPSTREAM_READ_TIMEOUT_SECONDS="15"
        )
        assert settings.upstream.worst_case_seconds() == 25

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
            {
                "UPSTREAM_MAX_RETRIES": "3",
                "UPSTREAM_MAX_RETRY_AFTER_SECONDS": "10",
                "UPSTREAM_READ_TIMEOUT_SECONDS": "0.5",
            },
        ],
        ids=["just-over", "many-retries", "long-read", "long-waits"],
    )
    def test_a_combination_over_the_budget_is_refused_naming_all_four_variables(
        self, variables: dict[str, str]
    ) -> None:
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


# -- cache ---------------------------------------------------------------------------------------------------------


class TestCache(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [
        ("CACHE_TTL_SECONDS", "cache.ttl"),
        ("CACHE_STALE_SECONDS", "cache.stale_window"),
        ("CACHE_NEGATIVE_TTL_SECONDS", "cache.negative_ttl"),
        ("CACHE_TABLE_NAME", "cache.table_name"),
    ]
    VALID: ClassVar[list[Valid]] = [
        ("CACHE_TTL_SECONDS", "0", "cache.ttl", 0),
        ("CACHE_TTL_SECONDS", " 45 ", "cache.ttl", 45),
        ("CACHE_STALE_SECONDS", "604800", "cache.stale_window", 604_800),
        ("CACHE_STALE_SECONDS", "0", "cache.stale_window", 0),
        ("CACHE_NEGATIVE_TTL_SECONDS", "3600", "cache.negative_ttl", 3_600),
        ("CACHE_TABLE_NAME", "endpoint-relay-cache_v1.2", "cache.table_name", None),
        ("CACHE_TABLE_NAME", "arn:aws:dynamodb:eu-west-1:123456789012:table/relay-cache", "cache.table_name", None),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        *_whole_numbers("CACHE_TTL_SECONDS", "from 0 to 86400", "-1", "86401", "thirty", "2.0"),
        *_whole_numbers("CACHE_STALE_SECONDS", "from 0 to 604800", "-5", "604801", "15m"),
        *_whole_numbers("CACHE_NEGATIVE_TTL_SECONDS", "from 0 to 3600", "-1", "3601", "ten"),
        *[
            ("CACHE_TABLE_NAME", raw, "DynamoDB table name")
            for raw in ["ab", "a" * 256, "relay cache", "relay/cache", "relay-cache;drop", "arn:aws:s3:::bucket"]
        ],
    ]

    def test_defaults_match_the_documented_behaviour(self) -> None:
        settings = _settings()
        assert settings.cache.ttl == 30  # fresh TTL 30 s
        assert settings.cache.stale_window == 900  # serve stale for 15 min
        assert settings.cache.negative_ttl == 10  # remember a 404 for 10 s
        assert settings.cache.table_name is None


# -- who may call the relay ----------------------------------------------------------------------------------------


class TestAuth(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [("RELAY_AUTH_MODE", "auth_mode")]
    VALID: ClassVar[list[Valid]] = [
        ("RELAY_AUTH_MODE", "iam", "auth_mode", AuthMode.IAM),
        ("RELAY_AUTH_MODE", "IAM", "auth_mode", AuthMode.IAM),
        ("RELAY_AUTH_MODE", "token", "auth_mode", AuthMode.TOKEN),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        ("RELAY_AUTH_MODE", raw, "token, iam") for raw in ["sigv4", "none", "tokens", "iam,token"]
    ]

    def test_tokens_are_the_default(self) -> None:
        assert _settings().auth_mode is AuthMode.TOKEN


# -- tracing -------------------------------------------------------------------------------------------------------


class TestTracing(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [("XRAY_SDK_ENABLED", "xray_sdk_enabled")]
    VALID: ClassVar[list[Valid]] = [
        ("XRAY_SDK_ENABLED", raw, "xray_sdk_enabled", expected)
        for raw, expected in [
            ("true", True),
            ("TRUE", True),
            ("1", True),
            ("yes", True),
            ("false", False),
            ("0", False),
            ("No", False),
        ]
    ]
    INVALID: ClassVar[list[Invalid]] = [
        ("XRAY_SDK_ENABLED", raw, "true or false") for raw in ["maybe", "2", "on", "enabled"]
    ]

    def test_the_sdk_is_off_by_default(self) -> None:
        assert _settings().xray_sdk_enabled is False


# -- Together v2 projects ------------------------------------------------------------------------------------------

PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
OTHER = "proj_7Tp1Xc9Lq4Nz2Wd6Rk8Ym"


class TestProjects(VariableTable):
    VARIABLES: ClassVar[list[Variable]] = [
        ("TOGETHER_PROJECT_ID", "default_project_id"),
        ("TOGETHER_PROJECT_IDS", "extra_project_ids"),
    ]
    VALID: ClassVar[list[Valid]] = [
        ("TOGETHER_PROJECT_ID", PROJECT, "default_project_id", None),
        ("TOGETHER_PROJECT_ID", f" {PROJECT} ", "default_project_id", PROJECT),
        ("TOGETHER_PROJECT_IDS", OTHER, "extra_project_ids", frozenset({OTHER})),
        ("TOGETHER_PROJECT_IDS", f"{OTHER}, {PROJECT},{OTHER}", "extra_project_ids", frozenset({OTHER, PROJECT})),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        ("TOGETHER_PROJECT_ID", raw, "a Together project id such as proj_")
        for raw in [
            "proj_",
            "project-1",
            "ep_abc",
            f"{PROJECT},{OTHER}",
            "proj_a/../b",
            "proj_\u0430",
            "proj_" + "a" * 60,
        ]
    ] + [
        ("TOGETHER_PROJECT_IDS", raw, "comma-separated project ids")
        for raw in [f"{PROJECT},ep_x", "proj_a b", f"{PROJECT};{OTHER}"]
    ]

    def test_no_project_is_served_by_default(self) -> None:
        settings = _settings()
        assert (settings.default_project_id, settings.allowed_project_ids) == (None, frozenset())

    def test_the_allow_list_is_the_default_project_and_the_others(self) -> None:
        assert _settings(TOGETHER_PROJECT_ID=PROJECT).allowed_project_ids == frozenset({PROJECT})
        both = _settings(TOGETHER_PROJECT_ID=PROJECT, TOGETHER_PROJECT_IDS=OTHER)
        assert both.allowed_project_ids == frozenset({PROJECT, OTHER})
        assert _settings(TOGETHER_PROJECT_IDS=OTHER).allowed_project_ids == frozenset({OTHER})

    @pytest.mark.parametrize(
        ("base_url", "v2"),
        [
            ("https://api.together.ai/v1", "https://api.together.ai/v2"),
            ("https://api.together.ai/v1/", "https://api.together.ai/v2"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v2"),
            ("https://proxy.example/together", "https://proxy.example/together/v2"),
        ],
    )
    def test_v2_goes_to_the_v1_base_urls_host_under_v2(self, base_url: str, v2: str) -> None:
        assert UpstreamSettings(base_url=base_url).v2_base_url == v2


# -- the settings object as a whole --------------------------------------------------------------------------------

TABLES: list[type[VariableTable]] = [TestSecret, TestUpstream, TestCache, TestAuth, TestTracing, TestProjects]


class TestSettings:
    def test_every_variable_has_invalid_cases(self) -> None:
        # Variables that accept any text have no invalid case; everything else must be covered above.
        for table in TABLES:
            assert {variable for variable, _ in table.VARIABLES} == {variable for variable, _, _ in table.INVALID}

    def test_settings_errors_are_value_errors(self) -> None:
        assert issubclass(SettingsError, ValueError)

    def test_settings_are_frozen(self) -> None:
        settings = _settings()
        with pytest.raises(AttributeError):
            settings.cache.ttl = 5  # type: ignore[misc]
        with pytest.raises(AttributeError):
            settings.secret_id = "another"  # type: ignore[misc]

    def test_from_env_reads_the_process_environment_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("RELAY_SECRET_ID", "endpoint-relay/from-process")
        monkeypatch.setenv("CACHE_TTL_SECONDS", "12")
        settings = Settings.from_env()
        assert (settings.secret_id, settings.cache.ttl) == ("endpoint-relay/from-process", 12)
