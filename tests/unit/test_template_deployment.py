"""How template.yaml deploys: the SAM transform's output, samconfig.toml's environments and the parameters.

- SAM translates the template (``sam validate --lint`` alone does not prove that), and each function gets a
  version and a `live` alias that every trigger invokes and CodeDeploy shifts under the function's error alarm.
- Every samconfig.toml environment deploys as written: no parameter without a default is left out, and every
  value it gives is one the template accepts.
- Log levels are Lambda's, and each maps to one Powertools accepts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import tomllib
from typing import Any

import pytest

from tests.unit.template_facts import ROOT, TEMPLATE, function_role, function_setting, functions, resources, template

FUNCTIONS = functions()
ALIAS = "live"

# -- the SAM transform -----------------------------------------------------------------------------------------------

_SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:  # the template names none; asking IAM for the list would need an account
    def load(self):
        return {}

template = yaml_parse(sys.stdin.read())
for body in template["Resources"].values():
    if body["Type"] == "AWS::Serverless::Function":
        body["Properties"]["CodeUri"] = "s3://bucket/key"  # as `sam deploy` uploads it
print(json.dumps(transform(template, {}, NoManagedPolicies())))
"""


@pytest.fixture(scope="module")
def translated() -> dict[str, dict[str, Any]]:
    """The resources CloudFormation deploys: the template after the SAM transform, as deploy runs it."""
    if not _SAM_PYTHON.exists():
        pytest.skip("the SAM CLI venv (.venv-sam, `make setup`) is not installed")
    environment = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    completed = subprocess.run(  # noqa: S603 - our venv's interpreter and a fixed script
        [str(_SAM_PYTHON), "-c", _TRANSLATE],
        input=TEMPLATE.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    resources_out: dict[str, dict[str, Any]] = json.loads(completed.stdout)["Resources"]
    return resources_out


def _of_type(translated: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in translated.items() if body["Type"] == kind}


def _alias(translated: dict[str, dict[str, Any]], function: str) -> str:
    """The logical id of the function's one alias, after checking it points at the function's one version."""
    (version,) = [
        name
        for name, body in _of_type(translated, "AWS::Lambda::Version").items()
        if body["Properties"]["FunctionName"] == {"Ref": function}
    ]
    (alias,) = [
        name
        for name, body in _of_type(translated, "AWS::Lambda::Alias").items()
        if body["Properties"]["FunctionName"] == {"Ref": function}
    ]
    properties = translated[alias]["Properties"]
    assert properties["Name"] == ALIAS
    assert properties["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
    return alias


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_publishes_a_version_behind_its_live_alias(
    translated: dict[str, dict[str, Any]], function: str
) -> None:
    assert function_setting(function, "AutoPublishAlias") == ALIAS
    assert _alias(translated, function)


def test_the_http_api_invokes_the_api_functions_alias(translated: dict[str, dict[str, Any]]) -> None:
    alias = _alias(translated, "ApiFunction")
    (api,) = _of_type(translated, "AWS::ApiGatewayV2::Api").values()
    # Given every route's integration and every permission API Gateway invokes with
    integrations = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path in api["Properties"]["Body"]["paths"].values()
        for operation in path.values()
    ]
    permissions = [
        body["Properties"]
        for body in _of_type(translated, "AWS::Lambda::Permission").values()
        if body["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    # Then they name the alias, never the function itself ($LATEST)
    assert len(integrations) == 5  # /v1/endpoints, /v2, /relay/fleet, /healthz, /slack/commands
    assert all(f"/functions/${{{alias}}}/invocations" in uri for uri in integrations), integrations
    assert len(permissions) == 5
    assert all(permission["FunctionName"] == {"Ref": alias} for permission in permissions)


def _schedules(translated: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each schedule's properties, by its name's suffix (``sweep``, ``digest``)."""
    schedules = _of_type(translated, "AWS::Scheduler::Schedule").values()
    return {body["Properties"]["Name"]["Fn::Sub"].rsplit("-", 1)[-1]: body["Properties"] for body in schedules}


def test_the_schedules_invoke_the_sweep_alias_with_retries_and_a_dead_letter_queue(
    translated: dict[str, dict[str, Any]],
) -> None:
    alias = _alias(translated, "SweepFunction")
    schedules = _schedules(translated)
    assert sorted(schedules) == ["digest", "sweep"]
    for schedule in schedules.values():
        target = schedule["Target"]
        assert target["Arn"] == {"Ref": alias}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SweepScheduleDeadLetterQueue", "Arn"]}}
        assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
        # Schedule names are unique per account: the stack's name keeps dev and prod apart.
        assert "${AWS::StackName}" in schedule["Name"]["Fn::Sub"]
    assert json.loads(schedules["sweep"]["Target"]["Input"]["Fn::Sub"].replace("${WatchedEndpoints}", "all")) == {
        "endpoint_relay": "sweep",
        "endpoints": "all",
    }
    assert json.loads(schedules["digest"]["Target"]["Input"]) == {
        "endpoint_relay": "digest",
        "scheduled_time": "<aws.scheduler.scheduled-time>",  # the same date on every retry of one run
    }


def test_the_daily_digest_is_off_unless_enabled(translated: dict[str, dict[str, Any]]) -> None:
    digest = _schedules(translated)["digest"]
    assert digest["State"] == {"Fn::If": ["DigestEnabled", "ENABLED", "DISABLED"]}
    assert template()["Parameters"]["DailyDigest"]["Default"] == "Disabled"


def test_the_api_function_hands_follow_ups_to_the_workers_alias_only(translated: dict[str, dict[str, Any]]) -> None:
    alias = _alias(translated, "SlackWorkerFunction")
    api = translated["ApiFunction"]["Properties"]
    statements = [
        statement
        for policy in translated[function_role("ApiFunction")]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if isinstance(statement, dict) and "Action" in statement
    ]

    assert api["Environment"]["Variables"]["SLACK_WORKER_FUNCTION"] == {"Ref": alias}
    invoke = [statement for statement in statements if statement["Action"] == "lambda:InvokeFunction"]
    assert [statement["Resource"] for statement in invoke] == [{"Ref": alias}]


def test_asynchronous_invocations_are_configured_on_the_aliases(translated: dict[str, dict[str, Any]]) -> None:
    configs = {
        body["Properties"]["FunctionName"]["Ref"]: body["Properties"]
        for body in _of_type(translated, "AWS::Lambda::EventInvokeConfig").values()
    }

    assert sorted(configs) == ["SlackWorkerFunction", "SweepFunction"]
    assert all(config["Qualifier"] == ALIAS for config in configs.values())
    worker = configs["SlackWorkerFunction"]
    # No retry (Slack allows 5 posts per response_url); nothing older than a response_url's 30 minutes.
    assert (worker["MaximumRetryAttempts"], worker["MaximumEventAgeInSeconds"]) == (0, 1800)
    assert worker["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["SlackWorkerFailureQueue", "Arn"]}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_codedeploy_shifts_each_alias_and_rolls_back_on_the_functions_alarm(
    translated: dict[str, dict[str, Any]], function: str
) -> None:
    # Given the alias and the deployment group SAM made for the function
    alias = translated[_alias(translated, function)]
    group_name = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"]
    group = translated[group_name]["Properties"]
    # Then the function's own error alarm stops the deployment and rolls the alias back
    alarms = function_setting(function, "DeploymentPreference")["Alarms"]
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": alarm} for alarm in alarms]}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]


def test_sam_adds_only_the_scheduler_and_codedeploy_roles(translated: dict[str, dict[str, Any]]) -> None:
    roles = _of_type(translated, "AWS::IAM::Role")
    added = {name: body["Properties"] for name, body in roles.items() if name not in resources("AWS::IAM::Role")}

    def principal(properties: dict[str, Any]) -> list[str]:
        (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
        services: list[str] = statement["Principal"]["Service"]
        return services

    assert sorted(principal(properties)[0] for properties in added.values()) == [
        "codedeploy.amazonaws.com",
        "scheduler.amazonaws.com",  # the sweep's schedule
        "scheduler.amazonaws.com",  # the daily digest's
    ]
    # Each scheduler role may invoke the sweep's alias and fill its dead-letter queue, nothing else.
    schedulers = [p for p in added.values() if principal(p) == ["scheduler.amazonaws.com"]]
    for scheduler in schedulers:
        grants = sorted(
            (statement["Action"], json.dumps(statement["Resource"], sort_keys=True))
            for policy in scheduler["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
        )
        assert grants == sorted(
            [
                ("lambda:InvokeFunction", json.dumps({"Ref": _alias(translated, "SweepFunction")})),
                (
                    "sqs:SendMessage",
                    json.dumps({"Fn::GetAtt": ["SweepScheduleDeadLetterQueue", "Arn"]}, sort_keys=True),
                ),
            ]
        )
    # The functions' own roles come through the transform untouched.
    for role in resources("AWS::IAM::Role"):
        assert translated[role]["Properties"]["Policies"] == _plain(resources()[role]["Properties"]["Policies"])


def _plain(value: Any) -> Any:
    """The template's parsed value as the transform prints it (``Fn::GetAtt`` lists, ``.Alias`` refs resolved)."""
    text = json.dumps(value)
    return json.loads(re.sub(r'\{"Ref": "(\w+)\.Alias"\}', rf'{{"Ref": "\1Alias{ALIAS}"}}', text))


# -- samconfig.toml --------------------------------------------------------------------------------------------------


def _samconfig_overrides() -> dict[str, dict[str, str]]:
    """Each environment's deploy parameter_overrides, as name -> value."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides: dict[str, dict[str, str]] = {}
    for environment, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        text = commands["deploy"].get("parameters", {}).get("parameter_overrides", "")
        overrides[environment] = dict(pair.split("=", 1) for pair in shlex.split(text))
    return overrides


def test_samconfig_has_a_development_and_a_production_environment() -> None:
    assert {"default", "prod"} <= set(_samconfig_overrides())


@pytest.mark.parametrize("environment", sorted(_samconfig_overrides()))
def test_every_samconfig_environment_deploys_a_new_stack_as_written(environment: str) -> None:
    # Given what `sam deploy --config-env <environment>` passes, and the template's parameters
    overrides = _samconfig_overrides()[environment]
    parameters = template()["Parameters"]
    # Then a first deploy (no previous values) leaves no parameter without a value
    assert sorted(name for name, spec in parameters.items() if "Default" not in spec and name not in overrides) == []
    # And every value given is one the template accepts
    assert sorted(set(overrides) - set(parameters)) == []
    for name, value in overrides.items():
        spec = parameters[name]
        if "AllowedValues" in spec:
            assert value in [str(allowed) for allowed in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name


# -- parameters ------------------------------------------------------------------------------------------------------

LAMBDA_LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
"""LoggingConfig.ApplicationLogLevel's values (the Lambda API reference)."""


def test_log_levels_are_lambdas_and_each_maps_to_one_powertools_accepts() -> None:
    allowed = template()["Parameters"]["LogLevel"]["AllowedValues"]
    mapping = template()["Mappings"]["PowertoolsLogLevel"]

    assert allowed == LAMBDA_LOG_LEVELS
    assert sorted(mapping) == sorted(allowed)
    # Powertools hands POWERTOOLS_LOG_LEVEL to logging's setLevel, which knows these names (and no TRACE).
    assert all(isinstance(logging.getLevelName(entry["Level"]), int) for entry in mapping.values())


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://api.together.ai/v1", True),
        ("https://proxy.example.com:8443/together/v1", True),
        ("http://api.together.ai/v1", False),
        ("http://127.0.0.1:8080/v1", False),
        ("https://api.together.ai/v1?key=x", False),
        ("ftp://api.together.ai/v1", False),
    ],
)
def test_the_together_url_parameter_is_https_only(url: str, accepted: bool) -> None:
    pattern = template()["Parameters"]["TogetherApiBaseUrl"]["AllowedPattern"]

    assert bool(re.fullmatch(pattern, url)) is accepted
    assert re.fullmatch(pattern, template()["Parameters"]["TogetherApiBaseUrl"]["Default"])


def test_the_alert_table_can_be_restored_to_a_point_in_time() -> None:
    table = resources()["AlertTable"]["Properties"]

    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
