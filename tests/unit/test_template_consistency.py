"""template.yaml, the configuration reference (docs/configuration.md) and the code agree.

- Configuration: every variable the code reads is set on the function and documented; fixed values are the
  code's defaults; the template's defaults are accepted by Settings.
- Permissions: every AWS call the code makes is granted on the resource it targets, and the role grants
  nothing else (the only additions are what Lambda itself does with the role: logs and traces).
- Operations: alarms and the dashboard use metric names the code emits, with this stack's dimension.
- SAM translates the template (``sam validate --lint`` alone does not prove that).

The code side is discovered by parsing it (tests/unit/template_facts.py), so new calls, variables and
metrics are checked without anybody remembering to update a list.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.settings import Settings
from tests.unit.template_facts import (
    ROLE,
    ROOT,
    TEMPLATE,
    AwsCall,
    DiscoveryError,
    aws_calls,
    aws_calls_in,
    function_environment,
    function_properties,
    lambda_function_arn,
    metric_names,
    render,
    resources,
    role_grants,
    search_metric_names,
    ssm_parameter_arn,
    template,
    variables_read,
)

LAMBDA_RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
"""Lambda's reserved variables: the runtime provides them, and a function may not set them."""

LIBRARY_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"})
"""Set by the template and read by Powertools itself rather than by settings.py."""

DEPLOY_TIME_VALUES = {
    # What CloudFormation fills in for variables taken from resources, conditions or required parameters.
    "RELAY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:endpoint-relay-AbCdEf",
    "CACHE_TABLE_NAME": "endpoint-relay-CacheTable-1A2B3C4D5E6F",
    "ALERT_TABLE_NAME": "endpoint-relay-AlertTable-1A2B3C4D5E6F",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:endpoint-relay-AlertTopic-1A2B3C4D5E6F",
    "POWERTOOLS_SERVICE_NAME": "endpoint-relay",
}

CALL_TARGETS = {
    # Module making AWS calls -> the environment variable naming the resource those calls go to.
    "adapters/shared_cache.py": "CACHE_TABLE_NAME",
    "adapters/alert_store.py": "ALERT_TABLE_NAME",
    "adapters/sns_notifier.py": "ALERT_TOPIC_ARN",
    "adapters/secret_store.py": "RELAY_SECRET_ID",
    "adapters/policy_source.py": "POLICY_PARAMETER_NAME",
    "adapters/lambda_invoker.py": "AWS_LAMBDA_FUNCTION_NAME",
}

DYNAMIC_METRICS = {
    # routes/endpoints.py counts one Cache<Outcome> per lookup: count(f"Cache{result.status.value.title()}").
    "Cache": {f"Cache{status.value.title()}" for status in CacheStatus},
}
RELAY_NAMESPACE = "EndpointRelay"


# -- configuration -----------------------------------------------------------------------------------------------


def test_every_variable_the_code_reads_is_set_on_the_function() -> None:
    # Given the variables settings.py reads, and those Lambda provides itself
    wanted = variables_read() - LAMBDA_RESERVED
    # Then the function's environment in template.yaml sets each of the others
    assert wanted, "no variables found: has settings.py stopped using env.get/env.required?"
    assert sorted(wanted - set(function_environment())) == []


def test_the_function_sets_only_variables_someone_reads_and_none_lambda_reserves() -> None:
    declared = set(function_environment())

    assert sorted(declared - variables_read() - LIBRARY_VARIABLES) == [], "set in template.yaml, read by nobody"
    assert sorted(declared & LAMBDA_RESERVED) == [], "Lambda refuses to deploy a function that sets these"


def _deployed_environment() -> dict[str, str]:
    """The function's environment with every parameter at its default, as a first deploy would set it."""
    parameters = template()["Parameters"]
    environment: dict[str, str] = {}
    for name, value in function_environment().items():
        reference = value.get("Ref") if isinstance(value, dict) else None
        if isinstance(value, str):
            environment[name] = value
        elif reference in parameters and "Default" in parameters[reference]:
            environment[name] = str(parameters[reference]["Default"])
        else:
            assert name in DEPLOY_TIME_VALUES, f"{name} comes from {value}: give it a value in DEPLOY_TIME_VALUES"
            environment[name] = DEPLOY_TIME_VALUES[name]
    return environment


def test_the_templates_defaults_are_valid_settings() -> None:
    # When the relay starts with the environment a default deployment gives it
    settings = Settings.from_env(_deployed_environment())
    # Then it is configured as the template intends
    assert settings.alert_table_name and settings.cache_table_name and settings.alert_topic_arn


_FIXED = sorted(
    name for name, value in function_environment().items() if isinstance(value, str) and name in variables_read()
)


@pytest.mark.parametrize("name", _FIXED)
def test_a_fixed_value_in_the_template_is_the_codes_default(name: str) -> None:
    # Given the deployed environment with and without this fixed value
    environment = _deployed_environment()
    without = {key: value for key, value in environment.items() if key != name}
    # Then it makes no difference: the template only spells out what the code does anyway
    assert Settings.from_env(environment) == Settings.from_env(without)


def _configuration_reference() -> str:
    path = ROOT / "docs" / "configuration.md"
    if not path.is_file():
        pytest.fail("docs/configuration.md does not exist: it must list every variable and parameter")
    return path.read_text(encoding="utf-8")


def _undocumented(names: set[str], text: str) -> list[str]:
    return sorted(name for name in names if not re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text))


def test_every_variable_is_in_the_configuration_reference() -> None:
    names = (variables_read() | set(function_environment())) - LAMBDA_RESERVED
    assert _undocumented(names, _configuration_reference()) == []


def test_every_template_parameter_is_in_the_configuration_reference() -> None:
    assert _undocumented(set(template()["Parameters"]), _configuration_reference()) == []


# -- permissions -------------------------------------------------------------------------------------------------


def _target_arn(call: AwsCall) -> str:
    """The ARN (as template.yaml spells it) of the resource the call goes to, from the variable that names it."""
    variable = CALL_TARGETS[call.module]
    if variable == "AWS_LAMBDA_FUNCTION_NAME":  # Lambda sets it to the function's own name
        return lambda_function_arn(render(function_properties()["FunctionName"]))
    value = function_environment()[variable]
    if call.service == "dynamodb":  # the variable holds the table's name; IAM names the table by its ARN
        table = value["Ref"]
        assert resources()[table]["Type"] == "AWS::DynamoDB::Table"
        return f"${{{table}.Arn}}"
    if call.service == "ssm":  # the variable holds the parameter's name
        return ssm_parameter_arn(render(value))
    return render(value)  # the variable holds the resource's ARN


def _runtime_needs() -> set[tuple[str, str]]:
    """What Lambda itself does with the function's role: write its logs, and send traces when tracing is active."""
    log_group = render(function_properties()["LoggingConfig"]["LogGroup"]).removeprefix("${").removesuffix("}")
    needs = {(action, f"${{{log_group}.Arn}}") for action in ("logs:CreateLogStream", "logs:PutLogEvents")}
    tracing = function_properties().get("Tracing", template()["Globals"]["Function"].get("Tracing"))
    if tracing == "Active":
        # X-Ray has no resource-level permissions for these actions: "*" is the only resource they accept.
        needs |= {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
    return needs


def _needed() -> dict[tuple[str, str], list[str]]:
    """(action, resource) -> the call sites that need it."""
    needed: dict[tuple[str, str], list[str]] = {}
    for call in aws_calls():
        needed.setdefault((call.action, _target_arn(call)), []).append(f"{call.module}:{call.line}")
    return needed


def test_every_module_calling_aws_has_a_known_target() -> None:
    calling = {call.module for call in aws_calls()}

    assert sorted(calling - set(CALL_TARGETS)) == [], (
        "add the module to CALL_TARGETS with the variable naming its target"
    )
    assert sorted(set(CALL_TARGETS) - calling) == [], "CALL_TARGETS lists a module that no longer calls AWS"


def test_every_aws_call_is_granted_on_the_resource_it_targets() -> None:
    granted = {(grant.action, grant.resource) for grant in role_grants()}

    missing = {need: sites for need, sites in _needed().items() if need not in granted}

    assert missing == {}


def test_the_role_grants_nothing_the_code_or_lambda_does_not_need() -> None:
    needed = set(_needed()) | _runtime_needs()

    unneeded = sorted(
        f"{grant.sid}: {grant.action} on {grant.resource}"
        for grant in role_grants()
        if (grant.action, grant.resource) not in needed
    )

    assert unneeded == []


def test_no_grant_uses_a_wildcard_except_where_aws_accepts_nothing_else() -> None:
    allowed = {need for need in _runtime_needs() if need[1] == "*"}

    wildcards = sorted(
        f"{grant.sid}: {grant.action} on {grant.resource}"
        for grant in role_grants()
        if ("*" in grant.action or "*" in grant.resource) and (grant.action, grant.resource) not in allowed
    )

    assert wildcards == []


def test_the_function_runs_with_this_role_and_nothing_else() -> None:
    role = resources()[ROLE]["Properties"]
    principals = [statement["Principal"] for statement in role["AssumeRolePolicyDocument"]["Statement"]]

    assert function_properties()["Role"] == {"Fn::GetAtt": [ROLE, "Arn"]}
    # SAM would add managed policies (logging on every log group) to a role it makes; this role takes none.
    assert "Policies" not in function_properties()
    assert "Policies" not in template()["Globals"]["Function"]
    assert "ManagedPolicyArns" not in role
    assert principals == [{"Service": "lambda.amazonaws.com"}]
    assert [name for name, body in resources().items() if body["Type"] == "AWS::IAM::Role"] == [ROLE]


# -- call-site discovery (what the permission tests rely on) -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "actions"),
    [
        ('c = aws_clients.client("dynamodb")\nc.put_item(TableName="t", Item={})', ["dynamodb:PutItem"]),
        (
            "from mypy_boto3_sns.client import SNSClient\ndef f(c: SNSClient) -> None:\n    c.publish_batch()",
            ["sns:Publish"],
        ),
        ('aws_clients.client("lambda").invoke(FunctionName="f")', ["lambda:InvokeFunction"]),
        ("from aws_lambda_powertools.utilities.parameters import SecretsProvider", ["secretsmanager:GetSecretValue"]),
        (
            "from aws_lambda_powertools.utilities.parameters import SSMProvider\nSSMProvider().get_multiple('/p')",
            ["ssm:GetParameter", "ssm:GetParametersByPath"],
        ),
        # A method named like an operation of a service the module does not use is not an AWS call.
        ('aws_clients.client("sns")\nitems.put_item()', []),
    ],
    ids=["factory", "injected-typed-client", "iam-name-differs", "powertools-provider", "provider-method", "unrelated"],
)
def test_discovery_finds_calls_however_the_client_arrives(source: str, actions: list[str]) -> None:
    assert sorted(call.action for call in aws_calls_in(source, "snippet.py")) == actions


@pytest.mark.parametrize(
    "source",
    [
        "import boto3\nboto3.client('s3').list_buckets()",
        "service = 'dynamodb'\naws_clients.client(service)",
        "from aws_lambda_powertools.utilities.parameters import DynamoDBProvider",
        'aws_clients.client("dynamodb").get_paginator("scan")',
    ],
    ids=["boto3-directly", "service-not-literal", "unknown-provider", "paginator"],
)
def test_discovery_refuses_what_it_cannot_follow(source: str) -> None:
    with pytest.raises(DiscoveryError):
        aws_calls_in(source, "snippet.py")


# -- alarms and dashboard ----------------------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    (dashboard,) = resources("AWS::CloudWatch::Dashboard").values()
    body: dict[str, Any] = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    return body


def _relay_metrics() -> list[tuple[str, str, dict[str, str]]]:
    """(where, metric name, dimensions) of every EndpointRelay metric the alarms and the dashboard use."""
    found: list[tuple[str, str, dict[str, str]]] = []
    for name, alarm in resources("AWS::CloudWatch::Alarm").items():
        properties = alarm["Properties"]
        metrics = [properties] + [
            query["MetricStat"]["Metric"] for query in properties.get("Metrics", []) if "MetricStat" in query
        ]
        for metric in metrics:
            if metric.get("Namespace") == RELAY_NAMESPACE:
                dimensions = {d["Name"]: render(d["Value"]) for d in metric.get("Dimensions", [])}
                found.append((name, metric["MetricName"], dimensions))
    for widget in _dashboard()["widgets"]:
        for row in widget["properties"].get("metrics", []):
            where = f"dashboard: {widget['properties']['title']}"
            if isinstance(row[0], str) and row[0] == RELAY_NAMESPACE:
                pairs = row[2:-1] if isinstance(row[-1], dict) else row[2:]
                found.append((where, row[1], dict(zip(pairs[::2], pairs[1::2], strict=True))))
            elif isinstance(row[0], dict) and "SEARCH(" in row[0].get("expression", ""):
                expression = row[0]["expression"]
                assert 'service="${AWS::StackName}"' in expression, where
                found.extend(
                    (where, metric, {"service": "${AWS::StackName}"}) for metric in search_metric_names(expression)
                )
    return found


def test_alarms_and_dashboard_use_metrics_the_code_emits() -> None:
    names, prefixes = metric_names()
    assert sorted(prefixes - set(DYNAMIC_METRICS)) == [], "a metric name built at run time: add it to DYNAMIC_METRICS"
    emitted = names.union(*(DYNAMIC_METRICS[prefix] for prefix in prefixes))

    unknown = sorted({f"{where}: {metric}" for where, metric, _ in _relay_metrics() if metric not in emitted})

    assert unknown == []


def test_relay_metrics_are_read_with_this_stacks_service_dimension() -> None:
    environment = function_environment()
    # Powertools adds the service dimension to every metric; the stack name keeps two stacks' metrics apart.
    assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == RELAY_NAMESPACE

    wrong = [
        (where, metric, dims) for where, metric, dims in _relay_metrics() if dims != {"service": "${AWS::StackName}"}
    ]

    assert wrong == []


def test_every_alarm_notifies_and_treats_missing_data_deliberately() -> None:
    alarms = resources("AWS::CloudWatch::Alarm")
    expected_topic = {
        "Fn::If": [
            "HasAlarmTopic",
            {"Ref": "AlarmTopicArn"},
            {"Fn::If": ["CreateAlertTopic", {"Ref": "AlertTopic"}, {"Ref": "AlertTopicArn"}]},
        ]
    }

    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties.get("TreatMissingData") in ("breaching", "notBreaching", "ignore", "missing"), name
        assert properties["AlarmActions"] == [expected_topic], name
        assert properties["OKActions"] == [expected_topic], name
    assert {
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        "SweepsStoppedAlarm",
        "UpstreamErrorRateAlarm",
        "DeliveryFailuresAlarm",
    } <= set(alarms)


def test_the_dashboard_shows_every_alarm() -> None:
    shown = [
        alarm
        for widget in _dashboard()["widgets"]
        if widget["type"] == "alarm"
        for alarm in widget["properties"]["alarms"]
    ]

    assert sorted(shown) == sorted(f"${{{name}.Arn}}" for name in resources("AWS::CloudWatch::Alarm"))


# -- SAM ---------------------------------------------------------------------------------------------------------

_SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:  # the template names none; asking IAM for the list would need an account
    def load(self):
        return {}

template = yaml_parse(sys.stdin.read())
template["Resources"]["RelayFunction"]["Properties"]["CodeUri"] = "s3://bucket/key"  # as `sam deploy` uploads it
print(json.dumps(transform(template, {}, NoManagedPolicies())))
"""


@pytest.mark.skipif(not _SAM_PYTHON.exists(), reason="the SAM CLI venv (.venv-sam, `make setup`) is not installed")
def test_sam_translates_the_template_and_adds_no_role() -> None:
    # When the SAM transform runs, as CloudFormation runs it on deploy
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
    # Then it succeeds, and the only role is the one written in the template
    assert completed.returncode == 0, completed.stderr[-2000:]
    translated = json.loads(completed.stdout)["Resources"]
    assert [name for name, body in translated.items() if body["Type"] == "AWS::IAM::Role"] == [ROLE]
