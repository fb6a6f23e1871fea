"""The layers stay visible: the core imports no edge library, and only settings.py reads the environment."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fresh_interpreter import fresh_interpreter

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "endpoint_relay"
CORE_MODULES = sorted((PACKAGE / "core").rglob("*.py"))
ALL_MODULES = sorted(PACKAGE.rglob("*.py"))

FORBIDDEN_IN_CORE = (
    "boto3",
    "botocore",
    "urllib3",
    "aws_lambda_powertools",
    "endpoint_relay.adapters",
    "endpoint_relay.routes",
    "endpoint_relay.app",
    "endpoint_relay.wiring",
    "endpoint_relay.entrypoints",
    "endpoint_relay.http_api",
    "endpoint_relay.settings",
)
FORBIDDEN_IN_APP = ("boto3", "botocore", "urllib3", "endpoint_relay.adapters", "endpoint_relay.wiring")
APP_MODULES = sorted((PACKAGE / "app").glob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> Iterator[str]:
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    return _imported_modules_in(path.read_text(encoding="utf-8"), package)


def _imported_modules_in(source: str, package: str) -> Iterator[str]:
    """Every module an import names, relative imports resolved, anywhere in the source (lazy imports too)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # `from endpoint_relay import settings` imports the module endpoint_relay.settings.
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def _is_within(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def test_the_core_has_modules_to_check() -> None:
    names = {path.stem for path in CORE_MODULES}
    assert {"models", "errors", "endpoint_id", "tokens", "secrets", "cache", "lookup"} <= names


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_modules_import_nothing_from_the_edge(path: Path) -> None:
    offending = sorted(
        {
            module
            for module in _imported_modules(path)
            for forbidden in FORBIDDEN_IN_CORE
            if _is_within(module, forbidden)
        }
    )
    assert offending == [], f"{_module_name(path)} imports {offending}"


@pytest.mark.parametrize("path", APP_MODULES, ids=lambda path: path.name)
def test_application_units_depend_on_ports_not_adapters(path: Path) -> None:
    offending = sorted(
        {
            module
            for module in _imported_modules(path)
            for forbidden in FORBIDDEN_IN_APP
            if _is_within(module, forbidden)
        }
    )
    assert offending == [], f"{_module_name(path)} imports {offending}"


def test_a_lookup_cold_start_imports_neither_the_sweep_nor_the_slack_side_nor_alerting_nor_v2() -> None:
    # Given a fresh interpreter, as a new ApiFunction container that builds its handler at init
    probe = (
        "import sys\n"
        "from endpoint_relay.entrypoints.api import lambda_handler\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('endpoint_relay'))))\n"
    )
    loaded = fresh_interpreter(probe, ALERT_TABLE_NAME="relay-alerts", ALERT_SINKS="slack").split()
    # Then the API's entry point pulled in the lookup path only: alerting loads on the first retrieval,
    # the Slack side on the first Slack request, the fleet view on the first GET /relay/fleet
    assert "endpoint_relay.http_api" in loaded
    unwanted = {
        "endpoint_relay.wiring.alerting",
        "endpoint_relay.wiring.slack_side",
        "endpoint_relay.routes.slash_command",
        "endpoint_relay.core.alerting",
        "endpoint_relay.core.policy",
        "endpoint_relay.core.slack_commands",
        "endpoint_relay.core.slack_blocks",
        "endpoint_relay.app.slack_commands",
        "endpoint_relay.adapters.slack_webhook",
        "endpoint_relay.app.sweep",
        "endpoint_relay.app.sweep_checks",
        "endpoint_relay.app.sweep_metrics",
        "endpoint_relay.app.sweep_preload",
        "endpoint_relay.app.sweep_targets",
        "endpoint_relay.app.slack_followups",
        "endpoint_relay.wiring.sweep",
        "endpoint_relay.wiring.worker",
        "endpoint_relay.entrypoints.sweep",
        "endpoint_relay.entrypoints.slack_worker",
        # v2 (and the v1 view of ep_ ids) loads on the first v2 request: a v1 lookup never pays for it
        "endpoint_relay.core.v2_models",
        "endpoint_relay.core.v2_request",
        "endpoint_relay.core.v2_resources",
        "endpoint_relay.core.v2_errors",
        "endpoint_relay.core.v1_view",
        "endpoint_relay.app.fleet_view",
        "endpoint_relay.wiring.fleet",
        "endpoint_relay.adapters.alert_batches",
        "endpoint_relay.core.fleet",
        "endpoint_relay.core.slack_spend",
    }
    assert sorted(unwanted.intersection(loaded)) == []


def _environment_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "getenvb", "putenv"):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = [alias.name for alias in node.names if alias.name in ("environ", "getenv", "environb", "getenvb")]
            found.extend(f"line {node.lineno}: from os import {name}" for name in names)
    return found


@pytest.mark.parametrize(
    "path", [p for p in ALL_MODULES if p.name != "settings.py" or p.parent != PACKAGE], ids=_module_name
)
def test_only_settings_reads_the_environment(path: Path) -> None:
    assert _environment_reads(path) == [], f"{_module_name(path)} reads the environment"


def test_settings_does_read_the_environment() -> None:
    # Guards the checker itself: it must see what settings.py does.
    assert _environment_reads(PACKAGE / "settings.py")


def test_the_import_checker_sees_every_import_form() -> None:
    # Guards the checker itself: each forbidden import, written each way a module could write it.
    source = (
        "import boto3\n"
        "import botocore.exceptions as be\n"
        "from urllib3 import PoolManager\n"
        "from aws_lambda_powertools.logging import Logger\n"
        "from ..adapters import together\n"
        "from .. import routes\n"
        "from endpoint_relay import settings\n"
        "from endpoint_relay.app import sweep\n"
        "from endpoint_relay.http_api import create_app\n"
        "def lazy():\n"
        "    import endpoint_relay.wiring\n"
        "    return importlib.import_module('endpoint_relay.entrypoints.api')\n"
    )
    modules = set(_imported_modules_in(source, "endpoint_relay.core"))
    flagged = {forbidden for module in modules for forbidden in FORBIDDEN_IN_CORE if _is_within(module, forbidden)}
    assert flagged == set(FORBIDDEN_IN_CORE)
