"""Which AWS services the relay's code can call, found by parsing it: one source of truth for two users.

- ``sam build`` (src/Makefile) keeps only these services' botocore models in the Lambda package, so a new
  AWS call cannot be forgotten there;
- tests/unit/template_facts.py starts from the same facts to check every call against the template's grants.

Standard library only: the build runs it with the runtime's bare python3.13, before any venv exists.
A service is used by a module when it gets a client from the shared factory
(``aws_clients.client("x")``), types an injected client with ``mypy_boto3_x``, or imports a Powertools
parameter utility (which creates its own client).

Usage: ``python3.13 tools/aws_services.py PACKAGE_DIR [--keep-only BOTOCORE_DATA_DIR ...]``
prints the services, one a line; with ``--keep-only`` it also removes every other service's models there.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from collections.abc import Collection, Iterator
from pathlib import Path


class DiscoveryError(Exception):
    """The code uses AWS in a way this discovery cannot follow; make it followable rather than hide it."""


BOTO3_WITHOUT_CLIENTS = frozenset({"boto3.dynamodb.types"})
"""boto3 modules that make no client (DynamoDB's attribute codecs)."""

CLIENT_FACTORY = "adapters/aws_clients.py"
"""Creates clients for the other modules and calls no operation itself."""

POWERTOOLS_PARAMETERS = "aws_lambda_powertools.utilities.parameters"

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


def package_modules(package: Path) -> list[Path]:
    return sorted(package.rglob("*.py"))


def services_used(package: Path, known_services: Collection[str]) -> set[str]:
    """Every service some module of ``package`` (e.g. src/endpoint_relay) can call.

    ``known_services`` are botocore's service names: a ``mypy_boto3_x`` stub names its service with
    underscores, and this maps it back (``cognito_idp`` -> ``cognito-idp``).
    """
    services: set[str] = set()
    for path in package_modules(package):
        module = path.relative_to(package).as_posix()
        if module == CLIENT_FACTORY:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        services |= client_services(tree, module, known_services)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and is_parameters_import(node):
                services |= {service for service, _ in parameter_actions(node, module)}
    return services


def client_services(tree: ast.Module, module: str, known_services: Collection[str]) -> set[str]:
    """Services this module gets clients for: from the shared factory, or injected and typed with mypy_boto3."""
    services: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and is_factory_call(node):
            services.add(literal(node.args[0] if node.args else None, f"{module}:{node.lineno}: a service name"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in imported:
                if (name == "boto3" or name.startswith("boto3.")) and name not in BOTO3_WITHOUT_CLIENTS:
                    raise DiscoveryError(f"{module}:{node.lineno}: get clients from aws_clients.client(), not boto3")
                if name.startswith("mypy_boto3_"):
                    stub_suffix = name.split(".")[0].removeprefix("mypy_boto3_")
                    services.add(_service_of_stub(stub_suffix, known_services, f"{module}:{node.lineno}"))
    return services


def parameter_actions(node: ast.ImportFrom, module: str) -> Iterator[tuple[str, str]]:
    """(service, operation) for each Powertools parameter utility an import brings in."""
    for alias in node.names:
        if alias.name in POWERTOOLS_PARAMETER_ACTIONS:
            yield POWERTOOLS_PARAMETER_ACTIONS[alias.name]
        elif alias.name.endswith("Provider") or alias.name.startswith("get_"):
            raise DiscoveryError(f"{module}:{node.lineno}: {alias.name} is not in POWERTOOLS_PARAMETER_ACTIONS")


def is_parameters_import(node: ast.AST) -> bool:
    return isinstance(node, ast.ImportFrom) and (node.module or "").startswith(POWERTOOLS_PARAMETERS)


def imports_parameter_provider(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and is_parameters_import(node)
        and any(alias.name.endswith("Provider") for alias in node.names)
        for node in ast.walk(tree)
    )


def is_factory_call(node: ast.Call) -> bool:
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


def literal(node: ast.expr | None, what: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise DiscoveryError(f"expected {what} as a string literal, so it can be checked against template.yaml")


def _service_of_stub(stub_suffix: str, known_services: Collection[str], where: str) -> str:
    by_stub_name = {name.replace("-", "_"): name for name in known_services}
    if stub_suffix not in by_stub_name:
        raise DiscoveryError(f"{where}: mypy_boto3_{stub_suffix} names no service botocore knows")
    return by_stub_name[stub_suffix]


def service_dirs(data_dir: Path) -> dict[str, Path]:
    """botocore/data (or boto3/data): one directory per service; the files beside them are shared."""
    return {path.name: path for path in data_dir.iterdir() if path.is_dir()}


def keep_only(data_dir: Path, services: Collection[str]) -> list[str]:
    """Remove every service directory of ``data_dir`` but ``services``; returns the names removed."""
    removed = sorted(name for name in service_dirs(data_dir) if name not in services)
    for name in removed:
        shutil.rmtree(data_dir / name)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the relay's package directory (src/endpoint_relay)")
    parser.add_argument(
        "--botocore-data", type=Path, required=True, help="botocore/data of the package being built: its services"
    )
    parser.add_argument("--keep-only", type=Path, action="append", default=[], help="a data dir to prune")
    args = parser.parse_args(argv)
    known = service_dirs(args.botocore_data)
    services = services_used(args.package, known)
    missing = sorted(services - set(known))
    if missing:
        print(f"the code calls {', '.join(missing)}, which botocore here has no model for", file=sys.stderr)
        return 1
    print("\n".join(sorted(services)))
    for data_dir in args.keep_only:
        removed = keep_only(data_dir, services)
        print(f"{data_dir}: kept {len(service_dirs(data_dir))} service models, removed {len(removed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
