"""What template.yaml declares and what the code does, read by parsing both: no AWS, no deployment.

Used by test_template_consistency.py. The code side is found with ``ast``, so a new
variable, AWS call or metric is seen without anybody updating a list:

- variables: the names ``settings.py`` passes to ``env.required`` / ``env.get``;
- AWS calls: per module, the services it gets clients for (``aws_clients.client("x")``
  or an injected client typed with ``mypy_boto3_x``), then every call of one of that
  service's operations (names from botocore's own service model), plus the Powertools
  parameter providers the module imports;
- metrics: the names passed to the metric helpers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PACKAGE = ROOT / "src" / "endpoint_relay"
FUNCTION = "RelayFunction"
ROLE = "RelayRole"

# --- template.yaml ---------------------------------------------------------------------------------------------------


def _intrinsic(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    """CloudFormation YAML: a short-form intrinsic (``!Ref X``) becomes its long form (``{"Ref": "X"}``)."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader: Any = type("TemplateLoader", (yaml.SafeLoader,), {})
_TemplateLoader.add_multi_constructor("!", _intrinsic)


@cache
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_TemplateLoader)  # noqa: S506
    return document


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    every: dict[str, dict[str, Any]] = template()["Resources"]
    return {name: body for name, body in every.items() if kind is None or body["Type"] == kind}


def function_properties() -> dict[str, Any]:
    properties: dict[str, Any] = template()["Resources"][FUNCTION]["Properties"]
    return properties


def function_environment() -> dict[str, Any]:
    """The function's variables as declared: Globals first, the function's own on top (as SAM merges them)."""
    globals_env = template().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = function_properties().get("Environment", {}).get("Variables", {})
    return {**globals_env, **own}


def render(value: Any) -> str:
    """A template value as one comparable string: ``${X}`` for a Ref, ``${X.Arn}`` for GetAtt, Sub's text as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{'.'.join(argument)}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
        if function == "Fn::If":
            condition, when_true, when_false = argument
            return f"If({condition}, {render(when_true)}, {render(when_false)})"
    raise ValueError(f"no canonical form for {value!r}; extend render()")


def is_no_value(value: Any) -> bool:
    return bool(value == {"Ref": "AWS::NoValue"})


@dataclass(frozen=True)
class Grant:
    action: str
    resource: str
    """Rendered with :func:`render`."""
    sid: str


def role_grants() -> list[Grant]:
    """Every (action, resource) the function's role allows; both branches of a conditional statement count."""
    grants: list[Grant] = []
    for policy in resources()[ROLE]["Properties"].get("Policies", []):
        statements = policy["PolicyDocument"]["Statement"]
        for statement in _branches(statements if isinstance(statements, list) else [statements]):
            unsupported = {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
            if statement["Effect"] != "Allow" or unsupported:
                raise ValueError(f"statement {statement.get('Sid')} is not a plain Allow; extend role_grants()")
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement["Resource"]):
                    grants.append(Grant(action, render(resource), statement.get("Sid", "")))
    return grants


def _branches(statements: list[Any]) -> Iterator[Any]:
    """The statements, with a conditional one (``Fn::If``) replaced by whichever of its branches exist."""
    for item in statements:
        if isinstance(item, dict) and list(item) == ["Fn::If"]:
            _, when_true, when_false = item["Fn::If"]
            yield from (branch for branch in (when_true, when_false) if not is_no_value(branch))
        else:
            yield item


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def lambda_function_arn(name: str) -> str:
    return f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"


def ssm_parameter_arn(name: str) -> str:
    # Parameter names that are paths start with "/", which is then the ARN's separator.
    return f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{name}"


# --- the code --------------------------------------------------------------------------------------------------------


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def variables_read() -> set[str]:
    """Names settings.py reads: the first argument of ``env.required(...)`` and ``env.get(...)``."""
    tree = ast.parse((PACKAGE / "settings.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.func.attr in ("required", "get")
        ):
            names.add(_literal(node.args[0], "an environment variable name"))
    return names


@dataclass(frozen=True)
class AwsCall:
    module: str
    """Path below src/endpoint_relay, e.g. ``adapters/shared_cache.py``."""
    service: str
    """boto3's service name, e.g. ``dynamodb``."""
    action: str
    """The IAM action that authorises the call, e.g. ``dynamodb:PutItem``."""
    line: int


class DiscoveryError(Exception):
    """The code uses AWS in a way this discovery cannot follow; make it followable rather than hide it."""


BOTO3_WITHOUT_CLIENTS = frozenset({"boto3.dynamodb.types"})
"""boto3 modules that make no client (DynamoDB's attribute codecs)."""

CLIENT_FACTORY = "adapters/aws_clients.py"
"""Creates clients for the other modules and calls no operation itself."""

IAM_ACTION_FOR_OPERATION = {
    # The Invoke API is authorised by lambda:InvokeFunction.
    "lambda:Invoke": "lambda:InvokeFunction",
    # "sns:Publish grants permission to both publish and publish batch" (SNS API permissions reference).
    "sns:PublishBatch": "sns:Publish",
}

# Powertools parameter utilities: what importing one means. Anything else from that package that
# fetches values (a new provider or get_* function) fails discovery until it is added here.
POWERTOOLS_PARAMETER_ACTIONS = {
    "SecretsProvider": ("secretsmanager", "GetSecretValue"),
    "get_secret": ("secretsmanager", "GetSecretValue"),
    "SSMProvider": ("ssm", "GetParameter"),
    "get_parameter": ("ssm", "GetParameter"),
    "get_parameters": ("ssm", "GetParametersByPath"),
    "get_parameters_by_name": ("ssm", "GetParameters"),
}
# Provider methods that call more than the provider's basic read.
POWERTOOLS_PROVIDER_METHODS = {
    "get_multiple": ("ssm", "GetParametersByPath"),
    "get_parameters_by_name": ("ssm", "GetParameters"),
}


def aws_calls() -> list[AwsCall]:
    calls: list[AwsCall] = []
    for path in package_modules():
        name = module_name(path)
        if name != CLIENT_FACTORY:
            calls.extend(aws_calls_in(path.read_text(encoding="utf-8"), name))
    return calls


def aws_calls_in(source: str, module: str) -> list[AwsCall]:
    tree = ast.parse(source)
    services = _client_services(tree, module)
    operations = {
        snake: (service, operation) for service in sorted(services) for snake, operation in _operations(service).items()
    }
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in operations:
                found.append((*operations[method], node.lineno))
            elif method in ("get_paginator", "get_waiter") and services:
                raise DiscoveryError(f"{module}:{node.lineno}: {method} is not followed; extend aws_calls_in()")
            elif method in POWERTOOLS_PROVIDER_METHODS and _imports_parameter_provider(tree):
                found.append((*POWERTOOLS_PROVIDER_METHODS[method], node.lineno))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_POWERTOOLS_PARAMETERS):
            found.extend((*action, node.lineno) for action in _parameter_actions(node, module))
    return [AwsCall(module, service, _iam_action(service, operation), line) for service, operation, line in found]


_POWERTOOLS_PARAMETERS = "aws_lambda_powertools.utilities.parameters"


def _client_services(tree: ast.Module, module: str) -> set[str]:
    """Services this module gets clients for: from the shared factory, or injected and typed with mypy_boto3."""
    services: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_factory_call(node):
            services.add(_literal(node.args[0] if node.args else None, f"{module}:{node.lineno}: a service name"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in imported:
                if (name == "boto3" or name.startswith("boto3.")) and name not in BOTO3_WITHOUT_CLIENTS:
                    raise DiscoveryError(f"{module}:{node.lineno}: get clients from aws_clients.client(), not boto3")
                if name.startswith("mypy_boto3_"):
                    services.add(_boto3_service(name.split(".")[0].removeprefix("mypy_boto3_")))
    return services


def _is_factory_call(node: ast.Call) -> bool:
    """``aws_clients.client("x")`` or ``LazyClient("x", ...)``."""
    function = node.func
    if isinstance(function, ast.Name):
        return function.id == "LazyClient"
    return (
        isinstance(function, ast.Attribute)
        and function.attr == "client"
        and isinstance(function.value, ast.Name)
        and function.value.id == "aws_clients"
    )


def _imports_parameter_provider(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith(_POWERTOOLS_PARAMETERS)
        and any(alias.name.endswith("Provider") for alias in node.names)
        for node in ast.walk(tree)
    )


def _parameter_actions(node: ast.ImportFrom, module: str) -> Iterator[tuple[str, str]]:
    for alias in node.names:
        if alias.name in POWERTOOLS_PARAMETER_ACTIONS:
            yield POWERTOOLS_PARAMETER_ACTIONS[alias.name]
        elif alias.name.endswith("Provider") or alias.name.startswith("get_"):
            raise DiscoveryError(f"{module}:{node.lineno}: {alias.name} is not in POWERTOOLS_PARAMETER_ACTIONS")


@cache
def _operations(service: str) -> dict[str, str]:
    """The service's operations, as boto3 method name -> API operation name (``put_item`` -> ``PutItem``)."""
    from botocore import xform_name

    model = _botocore().get_service_model(service)
    return {xform_name(operation): operation for operation in model.operation_names}


def _iam_action(service: str, operation: str) -> str:
    prefix = _botocore().get_service_model(service).signing_name
    action = f"{prefix}:{operation}"
    return IAM_ACTION_FOR_OPERATION.get(action, action)


def _boto3_service(stub_suffix: str) -> str:
    """``mypy_boto3_cognito_idp`` names the service ``cognito-idp``."""
    by_stub_name: dict[str, str] = {name.replace("-", "_"): name for name in _botocore().get_available_services()}
    return by_stub_name[stub_suffix]


@cache
def _botocore() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _literal(node: ast.expr | None, what: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise DiscoveryError(f"expected {what} as a string literal, so it can be checked against template.yaml")


# --- metrics ---------------------------------------------------------------------------------------------------------

METRIC_FUNCTIONS = frozenset({"count", "add_metric", "single_metric", "_by_dimension"})
"""Calls whose first argument (or ``name=``) is a metric name: Powertools' and the package's own helpers."""


def metric_names() -> tuple[set[str], set[str]]:
    """Metric names the code emits, and the prefixes of names it builds at run time (f-strings)."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for path in package_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or _called_name(node) not in METRIC_FUNCTIONS:
                continue
            keyword = next((k.value for k in node.keywords if k.arg == "name"), None)
            argument = keyword if keyword is not None else (node.args[0] if node.args else None)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value)
            elif isinstance(argument, ast.JoinedStr) and isinstance(argument.values[0], ast.Constant):
                prefixes.add(str(argument.values[0].value))
    return names, prefixes


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


_SEARCH_METRIC = re.compile(r'MetricName="([A-Za-z0-9_]+)"')


def search_metric_names(expression: str) -> list[str]:
    return _SEARCH_METRIC.findall(expression)
