"""What template.yaml declares and what the code does, read by parsing both: no AWS, no deployment.

Used by test_template_consistency.py. The code side is found with ``ast``, so a new
variable, AWS call or metric is seen without anybody updating a list:

- variables: the names ``settings.py`` declares its fields with, ``env(...)`` / ``required_env(...)``;
- reach: from a function's Handler module, the endpoint_relay modules it can import,
  at module level or inside a function (heavy modules are imported lazily);
- AWS calls: per module, the services it gets clients for (``aws_clients.client("x")``
  or an injected client typed with ``mypy_boto3_x``), then every call of one of that
  service's operations (names from botocore's own service model), plus the Powertools
  parameter providers the module imports (that discovery is tools/aws_services.py, which the build
  also uses to keep only these services' botocore models in the package);
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

from tools import aws_services
from tools.aws_services import CLIENT_FACTORY, POWERTOOLS_PROVIDER_METHODS, literal
from tools.aws_services import DiscoveryError as DiscoveryError  # re-exported: tests raise and catch it

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PACKAGE = ROOT / "src" / "endpoint_relay"
PLACEHOLDER_MARK = "placeholder until the split lands"
"""In an entry module's docstring: it still wraps the one handler, so it reaches every module."""

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


def functions() -> list[str]:
    """The logical ids of the template's functions."""
    return sorted(resources("AWS::Serverless::Function"))


def function_properties(function: str) -> dict[str, Any]:
    properties: dict[str, Any] = resources()[function]["Properties"]
    return properties


def function_setting(function: str, name: str) -> Any:
    """A function property as SAM applies it: the function's own, else Globals; mappings are merged (own on top)."""
    inherited = template().get("Globals", {}).get("Function", {}).get(name)
    own = function_properties(function).get(name)
    if isinstance(inherited, dict) and isinstance(own, dict):
        return {**inherited, **own}
    return inherited if own is None else own


def function_environment(function: str) -> dict[str, Any]:
    """The function's variables as declared: Globals first, the function's own on top (as SAM merges them)."""
    inherited = template().get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = function_properties(function).get("Environment", {}).get("Variables", {})
    return {**inherited, **own}


def function_role(function: str) -> str:
    """The logical id of the role the function runs with (``Role: !GetAtt X.Arn``)."""
    role = function_properties(function)["Role"]
    if not (isinstance(role, dict) and list(role) == ["Fn::GetAtt"] and role["Fn::GetAtt"][1] == "Arn"):
        raise ValueError(f"{function}'s Role is {role!r}; name a role of this template with !GetAtt Role.Arn")
    name: str = role["Fn::GetAtt"][0]
    return name


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


def role_grants(role: str) -> list[Grant]:
    """Every (action, resource) the role allows; both branches of a conditional statement count."""
    grants: list[Grant] = []
    for policy in resources()[role]["Properties"].get("Policies", []):
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


def ssm_parameter_arn(name: str) -> str:
    # Parameter names that are paths start with "/", which is then the ARN's separator.
    return f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{name}"


# --- the code --------------------------------------------------------------------------------------------------------


def package_modules() -> list[Path]:
    return aws_services.package_modules(PACKAGE)


def module_name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def handler_module(function: str) -> str:
    """The function's Handler as a module below src/endpoint_relay, e.g. ``entrypoints/api.py``."""
    handler: str = function_properties(function)["Handler"]
    dotted = handler.rsplit(".", 1)[0]
    return _module_path(dotted.split(".")) or _missing(f"{function}'s Handler {handler} names no module of the package")


def is_placeholder(module: str) -> bool:
    docstring = ast.get_docstring(ast.parse((PACKAGE / module).read_text(encoding="utf-8"))) or ""
    return PLACEHOLDER_MARK in docstring


def reachable_modules(function: str) -> set[str]:
    """Modules below src/endpoint_relay the function's Handler can import, directly or through others."""
    start = handler_module(function)
    reached = _with_packages(["endpoint_relay", *Path(start).with_suffix("").parts])
    pending = sorted(reached)
    while pending:
        for imported in _imports(pending.pop()):
            if imported not in reached:
                reached.add(imported)
                pending.append(imported)
    return reached


def _imports(module: str) -> set[str]:
    """The package's modules this one imports anywhere but under ``if TYPE_CHECKING:``, with their packages."""
    package = Path(module).parent.parts  # of a.py and of __init__.py alike: what a relative import starts from
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse((PACKAGE / module).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_packages(alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            base = (
                ["endpoint_relay", *package[: len(package) - node.level + 1]]
                if node.level
                else (node.module or "").split(".")
            )
            if node.level and node.module:
                base += node.module.split(".")
            found |= _with_packages(base)
            for alias in node.names:  # `from package import module` imports the module
                found |= _with_packages([*base, alias.name]) if _module_path([*base, alias.name]) else set()
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` blocks (imports for type checkers only)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
            continue
        yield child
        yield from _runtime_nodes(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _with_packages(dotted: list[str]) -> set[str]:
    """``endpoint_relay.a.b`` as the modules importing it runs: the packages' ``__init__`` files, then the module."""
    if not dotted or dotted[0] != "endpoint_relay":
        return set()
    found: set[str] = set()
    for end in range(1, len(dotted) + 1):
        path = _module_path(dotted[:end])
        if path:
            found.add(path)
    return found


def _module_path(dotted: list[str]) -> str | None:
    if not dotted or dotted[0] != "endpoint_relay":
        return None
    relative = Path(*dotted[1:]) if len(dotted) > 1 else Path()
    for candidate in (relative.with_suffix(".py") if len(dotted) > 1 else None, relative / "__init__.py"):
        if candidate is not None and (PACKAGE / candidate).is_file():
            return candidate.as_posix()
    return None


def _missing(message: str) -> str:
    raise DiscoveryError(message)


def variables_read() -> set[str]:
    """Names settings.py reads: the first argument of each ``env(...)`` and ``required_env(...)`` field."""
    tree = ast.parse((PACKAGE / "settings.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("env", "required_env"):
            names.add(literal(node.args[0], "an environment variable name"))
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


IAM_ACTION_FOR_OPERATION = {
    # The Invoke API is authorised by lambda:InvokeFunction.
    "lambda:Invoke": "lambda:InvokeFunction",
    # "sns:Publish grants permission to both publish and publish batch" (SNS API permissions reference).
    "sns:PublishBatch": "sns:Publish",
}


def aws_calls(modules: set[str] | None = None) -> list[AwsCall]:
    """The AWS calls in ``modules`` (paths below src/endpoint_relay), or in the whole package."""
    calls: list[AwsCall] = []
    for path in package_modules():
        name = module_name(path)
        if name != CLIENT_FACTORY and (modules is None or name in modules):
            calls.extend(_aws_calls_in_module(name))
    return calls


@cache
def _aws_calls_in_module(module: str) -> tuple[AwsCall, ...]:
    return tuple(aws_calls_in((PACKAGE / module).read_text(encoding="utf-8"), module))


def aws_calls_in(source: str, module: str) -> list[AwsCall]:
    tree = ast.parse(source)
    services = aws_services.client_services(tree, module, _botocore().get_available_services())
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
            elif method in POWERTOOLS_PROVIDER_METHODS and aws_services.imports_parameter_provider(tree):
                found.append((*POWERTOOLS_PROVIDER_METHODS[method], node.lineno))
        elif isinstance(node, ast.ImportFrom) and aws_services.is_parameters_import(node):
            found.extend((*action, node.lineno) for action in aws_services.parameter_actions(node, module))
    return [AwsCall(module, service, _iam_action(service, operation), line) for service, operation, line in found]


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


@cache
def _botocore() -> Any:
    import botocore.session

    return botocore.session.get_session()


# --- metrics ---------------------------------------------------------------------------------------------------------

METRIC_FUNCTIONS = frozenset({"count", "count_by", "add_metric", "single_metric"})
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
