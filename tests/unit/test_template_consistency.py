"""template.yaml, the configuration reference (docs/configuration.md) and the code agree, function by function.

- Reach: each function's Handler module, and the endpoint_relay modules it can import (at module level or
  lazily inside a function), decide what that function's code can do.
- Configuration: every variable the code reads is set on a function and documented; each function sets only
  variables the code reads, enough for Settings to accept them, and every variable naming a resource its
  reachable code calls; fixed values are the code's defaults. (settings.py is one module that reads every
  variable for every function, so which of the optional ones a function needs is a review matter, not derived.)
- Permissions: each function's role grants every AWS call its reachable modules make, on the resource it
  targets, and nothing else (the only additions are what Lambda itself does with the role: logs, traces and
  the on-failure destination).
- Operations: alarms and the dashboard use metric names the code emits, with this stack's dimension.

The code side is discovered by parsing it (tests/unit/template_facts.py), so new calls, variables and
metrics are checked without anybody remembering to update a list. The SAM transform's output is checked
in test_template_deployment.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.settings import Settings
from tests.unit.template_facts import (
    ROOT,
    AwsCall,
    DiscoveryError,
    aws_calls,
    aws_calls_in,
    function_environment,
    function_properties,
    function_role,
    function_setting,
    functions,
    metric_names,
    reachable_modules,
    render,
    resources,
    role_grants,
    search_metric_names,
    ssm_parameter_arn,
    template,
    variables_read,
)

FUNCTIONS = functions()

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
    "SLACK_WORKER_FUNCTION": "arn:aws:lambda:us-east-1:123456789012:function:endpoint-relay-SlackWorker-1A2B3C:live",
    "DAILY_DIGEST": "false",
}

CALL_TARGETS = {
    # Module making AWS calls -> the environment variable naming the resource those calls go to.
    "adapters/shared_cache.py": "CACHE_TABLE_NAME",
    "adapters/shared_cache_batches.py": "CACHE_TABLE_NAME",
    "adapters/leases.py": "CACHE_TABLE_NAME",
    "adapters/alert_store.py": "ALERT_TABLE_NAME",
    "adapters/alert_batches.py": "ALERT_TABLE_NAME",
    "adapters/sns_notifier.py": "ALERT_TOPIC_ARN",
    "adapters/secret_store.py": "RELAY_SECRET_ID",
    "adapters/policy_source.py": "POLICY_PARAMETER_NAME",
    "adapters/lambda_invoker.py": "SLACK_WORKER_FUNCTION",
    "adapters/sweep_cursor.py": "ALERT_TABLE_NAME",
    "adapters/digest_ledger.py": "ALERT_TABLE_NAME",
    "adapters/open_alerts.py": "ALERT_TABLE_NAME",
}

DYNAMIC_METRICS = {
    # routes/endpoints.py counts one Cache<Outcome> per lookup: count(f"Cache{result.status.value.title()}").
    "Cache": {f"Cache{status.value.title()}" for status in CacheStatus},
}
RELAY_NAMESPACE = "EndpointRelay"


# -- configuration -----------------------------------------------------------------------------------------------


def test_every_variable_the_code_reads_is_set_on_a_function() -> None:
    # Given the variables settings.py reads, and those Lambda provides itself
    wanted = variables_read() - LAMBDA_RESERVED
    # Then some function's environment in template.yaml sets each of the others
    assert wanted, "no variables found: has settings.py stopped declaring fields with env()/required_env()?"
    declared = set().union(*(function_environment(function) for function in FUNCTIONS))
    assert sorted(wanted - declared) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_sets_only_variables_someone_reads_and_none_lambda_reserves(function: str) -> None:
    declared = set(function_environment(function))
    assert sorted(declared - variables_read() - LIBRARY_VARIABLES) == [], "set in template.yaml, read by nobody"
    assert sorted(declared & LAMBDA_RESERVED) == [], "Lambda refuses to deploy a function that sets these"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_sets_the_variable_naming_each_resource_its_code_calls(function: str) -> None:
    # Given the modules the function's handler can reach that call AWS
    calling = {call.module for call in aws_calls(reachable_modules(function))}
    # Then the function's environment names the resource each of them calls
    unnamed = sorted(
        f"{module}: {CALL_TARGETS[module]}"
        for module in calling & set(CALL_TARGETS)
        if CALL_TARGETS[module] not in function_environment(function)
    )
    assert unnamed == []


def test_a_variable_set_on_several_functions_has_one_value() -> None:
    values: dict[str, dict[str, str]] = {}
    for function in FUNCTIONS:
        for name, value in function_environment(function).items():
            values.setdefault(name, {})[function] = json.dumps(value, sort_keys=True)

    differing = {name: by_function for name, by_function in values.items() if len(set(by_function.values())) > 1}

    assert differing == {}


def _parameter_default(value: Any) -> str | None:
    """The value a parameter reference (or a mapping looked up by one) takes with every parameter at its default."""
    parameters = template()["Parameters"]
    if isinstance(value, dict) and list(value) == ["Ref"] and "Default" in parameters.get(value["Ref"], {}):
        return str(parameters[value["Ref"]]["Default"])
    if isinstance(value, dict) and list(value) == ["Fn::FindInMap"]:
        mapping, key, attribute = value["Fn::FindInMap"]
        resolved_key = _parameter_default(key) if isinstance(key, dict) else key
        if resolved_key is not None:
            return str(template()["Mappings"][mapping][resolved_key][attribute])
    return None


def _deployed_environment(function: str) -> dict[str, str]:
    """The function's environment with every parameter at its default, as a first deploy would set it."""
    environment: dict[str, str] = {}
    for name, value in function_environment(function).items():
        default = value if isinstance(value, str) else _parameter_default(value)
        if default is None:
            assert name in DEPLOY_TIME_VALUES, f"{name} comes from {value}: give it a value in DEPLOY_TIME_VALUES"
            default = DEPLOY_TIME_VALUES[name]
        environment[name] = default
    return environment


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_templates_defaults_are_valid_settings(function: str) -> None:
    # When the function starts with the environment a default deployment gives it
    settings = Settings.from_env(_deployed_environment(function))
    # Then it is configured as the template intends
    assert settings.alert_table_name and settings.cache.table_name and settings.alert_topic_arn


_FIXED = sorted(
    (function, name)
    for function in FUNCTIONS
    for name, value in function_environment(function).items()
    if isinstance(value, str) and name in variables_read()
)


@pytest.mark.parametrize(("function", "name"), _FIXED)
def test_a_fixed_value_in_the_template_is_the_codes_default(function: str, name: str) -> None:
    # Given the deployed environment with and without this fixed value
    environment = _deployed_environment(function)
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
    declared = set().union(*(function_environment(function) for function in FUNCTIONS))
    names = (variables_read() | declared) - LAMBDA_RESERVED
    assert _undocumented(names, _configuration_reference()) == []


def test_every_template_parameter_is_in_the_configuration_reference() -> None:
    assert _undocumented(set(template()["Parameters"]), _configuration_reference()) == []


# -- permissions -------------------------------------------------------------------------------------------------


def _target_arn(call: AwsCall, function: str) -> str:
    """The ARN (as template.yaml spells it) of the resource the call goes to, from the variable that names it."""
    variable = CALL_TARGETS[call.module]
    if variable not in function_environment(function):  # reported by the test of the variables a function sets
        return f"<{variable}, which {function} does not set>"
    value = function_environment(function)[variable]
    if call.service == "dynamodb":  # the variable holds the table's name; IAM names the table by its ARN
        table = value["Ref"]
        assert resources()[table]["Type"] == "AWS::DynamoDB::Table"
        return f"${{{table}.Arn}}"
    if call.service == "ssm":  # the variable holds the parameter's name
        return ssm_parameter_arn(render(value))
    return render(value)  # the variable holds the resource's ARN (a function's: its alias)


_DESTINATION_ACTIONS = {"SQS": "sqs:SendMessage", "SNS": "sns:Publish", "Lambda": "lambda:InvokeFunction"}


def _runtime_needs(function: str) -> set[tuple[str, str]]:
    """What Lambda itself does with the function's role: write its logs, send traces, and send failed events."""
    log_group = render(function_setting(function, "LoggingConfig")["LogGroup"]).removeprefix("${").removesuffix("}")
    needs = {(action, f"${{{log_group}.Arn}}") for action in ("logs:CreateLogStream", "logs:PutLogEvents")}
    if function_setting(function, "Tracing") == "Active":
        # X-Ray has no resource-level permissions for these actions: "*" is the only resource they accept.
        needs |= {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
    destinations = (function_setting(function, "EventInvokeConfig") or {}).get("DestinationConfig", {})
    for destination in destinations.values():
        needs.add((_DESTINATION_ACTIONS[destination["Type"]], render(destination["Destination"])))
    return needs


def _needed(function: str) -> dict[tuple[str, str], list[str]]:
    """(action, resource) -> the call sites, reachable from the function's handler, that need it."""
    needed: dict[tuple[str, str], list[str]] = {}
    for call in aws_calls(reachable_modules(function)):
        needed.setdefault((call.action, _target_arn(call, function)), []).append(f"{call.module}:{call.line}")
    return needed


def test_every_module_calling_aws_has_a_known_target() -> None:
    calling = {call.module for call in aws_calls()}

    assert sorted(calling - set(CALL_TARGETS)) == [], (
        "add the module to CALL_TARGETS with the variable naming its target"
    )
    assert sorted(set(CALL_TARGETS) - calling) == [], "CALL_TARGETS lists a module that no longer calls AWS"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_aws_call_the_function_can_reach_is_granted_on_its_target(function: str) -> None:
    granted = {(grant.action, grant.resource) for grant in role_grants(function_role(function))}

    missing = {need: sites for need, sites in _needed(function).items() if need not in granted}

    assert missing == {}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_role_grants_what_lambda_does_on_the_functions_behalf(function: str) -> None:
    granted = {(grant.action, grant.resource) for grant in role_grants(function_role(function))}

    assert sorted(_runtime_needs(function) - granted) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_role_grants_nothing_its_function_or_lambda_does_not_need(function: str) -> None:
    needed = set(_needed(function)) | _runtime_needs(function)

    unneeded = sorted(
        f"{grant.sid}: {grant.action} on {grant.resource}"
        for grant in role_grants(function_role(function))
        if (grant.action, grant.resource) not in needed
    )

    assert unneeded == []


BATCH_ACTIONS = frozenset({"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"})
"""Unconditional (BatchWriteItem also deletes) and many items at once: only for the functions that sweep."""
SWEEPING_FUNCTIONS = frozenset({"SweepFunction", "SlackWorkerFunction"})
FLEET_READERS = frozenset({"ApiFunction"})
"""GET /relay/fleet reads the alert column in batches; it writes nothing in batches."""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_only_the_functions_that_sweep_reach_or_are_granted_batch_calls(function: str) -> None:
    reached = {call.action for call in aws_calls(reachable_modules(function))} & BATCH_ACTIONS
    granted = {grant.action for grant in role_grants(function_role(function))} & BATCH_ACTIONS

    if function in SWEEPING_FUNCTIONS:
        assert reached == granted == BATCH_ACTIONS  # the sweep's batch read and batch writes, both in reach
    elif function in FLEET_READERS:
        assert reached == granted == {"dynamodb:BatchGetItem"}
    else:
        assert (reached, granted) == (set(), set())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_grant_uses_a_wildcard_except_where_aws_accepts_nothing_else(function: str) -> None:
    allowed = {need for need in _runtime_needs(function) if need[1] == "*"}

    wildcards = sorted(
        f"{grant.sid}: {grant.action} on {grant.resource}"
        for grant in role_grants(function_role(function))
        if ("*" in grant.action or "*" in grant.resource) and (grant.action, grant.resource) not in allowed
    )

    assert wildcards == []


def test_each_function_runs_with_a_role_of_its_own_and_nothing_else() -> None:
    roles = [function_role(function) for function in FUNCTIONS]

    assert len(set(roles)) == len(FUNCTIONS), "functions share a role: each gets only what its own code needs"
    assert sorted(resources("AWS::IAM::Role")) == sorted(roles)
    # SAM would add managed policies (logging on every log group) to a role it makes; these roles take none.
    assert "Policies" not in template()["Globals"]["Function"]
    for function, role in zip(FUNCTIONS, roles, strict=True):
        properties = resources()[role]["Properties"]
        principals = [statement["Principal"] for statement in properties["AssumeRolePolicyDocument"]["Statement"]]
        assert "Policies" not in function_properties(function), function
        assert "ManagedPolicyArns" not in properties, role
        assert principals == [{"Service": "lambda.amazonaws.com"}], role


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
    for function in FUNCTIONS:
        environment = function_environment(function)
        # Powertools adds the service dimension to every metric; the stack name keeps two stacks' metrics apart.
        assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}, function
        assert environment["POWERTOOLS_METRICS_NAMESPACE"] == RELAY_NAMESPACE, function

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
        "ApiErrorsAlarm",
        "SweepErrorsAlarm",
        "SlackWorkerErrorsAlarm",
        "ApiThrottlesAlarm",
        "SweepsStoppedAlarm",
        "SweepSkippedAlarm",
        "SweepScheduleDeadLetterAlarm",
        "SlackWorkerFailureAlarm",
        "UpstreamErrorRateAlarm",
        "DeliveryFailuresAlarm",
    } <= set(alarms)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_functions_deployment_is_rolled_back_by_its_own_error_alarm(function: str) -> None:
    # Given the function's deployment preference
    (alarm_ref,) = function_properties(function)["DeploymentPreference"]["Alarms"]
    alarm = resources("AWS::CloudWatch::Alarm")[alarm_ref["Ref"]]["Properties"]
    # Then its alarm counts this function's errors on the alias every trigger invokes
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    dimensions = {d["Name"]: render(d["Value"]) for d in alarm["Dimensions"]}
    alias = function_setting(function, "AutoPublishAlias")
    assert dimensions == {"FunctionName": f"${{{function}}}", "Resource": f"${{{function}}}:{alias}"}


def test_the_skipped_targets_alarm_needs_two_windows_in_a_row() -> None:
    alarm = resources("AWS::CloudWatch::Alarm")["SweepSkippedAlarm"]["Properties"]

    assert (alarm["Namespace"], alarm["MetricName"]) == (RELAY_NAMESPACE, "SweepSkipped")
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 2)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_dashboard_shows_every_alarm() -> None:
    shown = [
        alarm
        for widget in _dashboard()["widgets"]
        if widget["type"] == "alarm"
        for alarm in widget["properties"]["alarms"]
    ]

    assert sorted(shown) == sorted(f"${{{name}.Arn}}" for name in resources("AWS::CloudWatch::Alarm"))
