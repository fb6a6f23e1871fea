"""The built Lambda package runs as Lambda runs it, for every function in template.yaml.

`sam build` prunes the package (src/Makefile): botocore keeps only the models of the services the code
calls (tools/aws_services.py), and more. A pruned piece the code needs must fail HERE, not in a deploy.
So each function's build output is zipped as SAM zips it, unpacked into a read-only directory, and a
child process with only that directory and the standard library on sys.path (``python -I -S``, no
bytecode writes, Lambda's environment, fake credentials) imports the template's Handler and:

- serves one event of each kind the handler takes (HANDLER_EVENT_KINDS) against moto server, the
  Together simulator and the Slack receiver;
- creates a client for every service the code can call through the relay's own factory, and makes
  one cheap real call with it (SERVICE_CALLS).

Deleting a needed service model from the build (for example ``.aws-sam/build/ApiFunction/botocore/data/dynamodb``)
makes this test fail with botocore's UnknownServiceError for that service: that is the failure it exists to catch.
Building takes about a minute; a build newer than every input is reused.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.events import load_event
from devstack.local_lambda import LambdaInvokeServer, LocalLambda
from devstack.stack import HEALTHY_ID, DevStack, scheduled_event, slash_command_event
from devstack.together_sim import make_endpoint
from tests.leakcheck import COLLECTOR
from tests.unit.template_facts import ROOT, resources
from tools import aws_services, package_size

BUILD_DIR = ROOT / ".aws-sam" / "build"
RUNNER = Path(__file__).with_name("lambda_runner.py")
BUILD_INPUTS = (ROOT / "src", ROOT / "tools", ROOT / "template.yaml")

# What each entry point serves, by the template's Handler string. A new or renamed handler fails the test
# until it is listed here.
HANDLER_EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "endpoint_relay.handler.lambda_handler": ("http_lookup", "slack_command", "scheduled_sweep", "slack_followup"),
    "endpoint_relay.entrypoints.api.lambda_handler": ("http_lookup", "slack_command"),
    "endpoint_relay.entrypoints.sweep.lambda_handler": ("scheduled_sweep",),
    "endpoint_relay.entrypoints.slack_worker.lambda_handler": ("slack_followup",),
}

# One cheap call per service the code may call (tools/aws_services.py derives which); a new service fails
# the test until it has one. "{function}" is the function's own name.
SERVICE_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("list_tables", {}),
    "secretsmanager": ("list_secrets", {}),
    "sns": ("list_topics", {}),
    "ssm": ("describe_parameters", {}),
    "sqs": ("list_queues", {}),
    "sts": ("get_caller_identity", {}),
    # The local Invoke API stand-in serves invocations only; DryRun checks the function exists.
    "lambda": ("invoke", {"FunctionName": "{function}", "InvocationType": "DryRun"}),
}


def _template_functions() -> dict[str, str]:
    """Logical id -> Handler of every function sam builds with src/Makefile."""
    return {
        name: body["Properties"]["Handler"]
        for name, body in resources("AWS::Serverless::Function").items()
        if body.get("Metadata", {}).get("BuildMethod") == "makefile"
    }


def _timeout_ms(function: str) -> int:
    body = resources("AWS::Serverless::Function")[function]["Properties"]
    return int(body.get("Timeout", template_globals_timeout())) * 1000


def template_globals_timeout() -> int:
    from devstack.stack import load_template

    return int(load_template()["Globals"]["Function"].get("Timeout", 3))


# -- the build --------------------------------------------------------------------------------------------------------


def _newest_input_mtime() -> float:
    newest = 0.0
    for root in BUILD_INPUTS:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if "__pycache__" not in p.parts]
        newest = max([newest, *(path.stat().st_mtime for path in paths if path.is_file())])
    return newest


@pytest.fixture(scope="session")
def build_dir() -> Path:
    built_template = BUILD_DIR / "template.yaml"
    fresh = built_template.is_file() and built_template.stat().st_mtime > _newest_input_mtime()
    if not fresh or not all((BUILD_DIR / name).is_dir() for name in _template_functions()):
        # The venvs are used as they are (-o): a test never rebuilds them.
        command = ["make", "-o", ".venv/.stamp", "-o", ".venv-sam/.stamp", "build"]
        completed = subprocess.run(  # noqa: S603 - a fixed command
            command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        assert completed.returncode == 0, f"make build failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return BUILD_DIR


# -- the stack the package talks to -------------------------------------------------------------------------------


class InvokeRecorder(LocalLambda):
    """Lambda's Invoke API records the relay's self-invocations instead of running them in this process."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def invoke_async(self, event: dict[str, Any], *, function: str | None = None) -> None:
        self.events.append(event)


@pytest.fixture(scope="module")
def stack() -> Iterator[DevStack]:
    local = DevStack()
    # The follow-up runs as its own invocation of the package (slack_followup), not in this process.
    local.relay = InvokeRecorder()
    local.lambda_invoke = LambdaInvokeServer(local.relay)
    with local:
        yield local


def _events(stack: DevStack, deferred_id: str) -> dict[str, Callable[[], dict[str, Any] | None]]:
    def http_lookup() -> dict[str, Any]:
        sample = json.dumps(load_event("http_get_endpoint.json"))
        event: dict[str, Any] = json.loads(sample.replace(_SAMPLE_ID, HEALTHY_ID))
        event["headers"]["authorization"] = f"Bearer {stack.options.relay_token}"
        return event

    def slack_followup() -> dict[str, Any]:
        event = load_event("slack_followup.json")
        event.update(endpoint_id=HEALTHY_ID, response_url=f"{stack.slack.url}{FOLLOWUP_PATH}")
        return event

    return {
        "http_lookup": http_lookup,
        # An endpoint nobody looked up: the answer is deferred to a self-invocation (Lambda's Invoke API).
        "slack_command": lambda: slash_command_event(stack, f"status {deferred_id}"),
        "scheduled_sweep": lambda: scheduled_event(stack),
        "slack_followup": slack_followup,
    }


_SAMPLE_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
FOLLOWUP_PATH = "/commands/T0PKG/1/followup"


# -- the package as Lambda unpacks it --------------------------------------------------------------------------------


@pytest.fixture
def read_only_dirs() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for top in made:  # writable again, so tmp_path can be cleaned up
        _set_writable(top, writable=True)


def unpack_read_only(code_dir: Path, into: Path) -> Path:
    archive = into / "function.zip"
    package_size.write_zip(code_dir, archive)
    task_root = into / "task"
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(task_root)
    archive.unlink()
    _set_writable(task_root, writable=False)  # chmod -R a-w: Lambda's code directory is read-only
    return task_root


def _set_writable(top: Path, *, writable: bool) -> None:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [top, *top.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~write_bits)


def run_cold_start(task_root: Path, stack: DevStack, job: dict[str, Any], results: Path) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **stack.env,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": job["handler"],
        "AWS_LAMBDA_FUNCTION_NAME": job["function_name"],  # Lambda sets it for every function
        "RUNNER_TIMEOUT_MS": str(job["timeout_ms"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    completed = subprocess.run(  # noqa: S603 - this interpreter and the runner beside this file
        [sys.executable, "-I", "-S", str(RUNNER), str(results)],
        input=json.dumps(job),
        env=env,
        cwd=task_root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    COLLECTOR.add_text(completed.stdout, source="stdout")
    COLLECTOR.add_text(completed.stderr, source="stderr")
    assert completed.returncode == 0, f"the cold start failed:\n{completed.stderr[-4000:]}"
    outcome: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    return outcome


def _derived_services() -> set[str]:
    import botocore.session

    known = botocore.session.get_session().get_available_services()
    return aws_services.services_used(ROOT / "src" / "endpoint_relay", known)


@pytest.mark.parametrize("function", sorted(_template_functions()))
def test_function_runs_from_its_unpacked_read_only_package(
    function: str, build_dir: Path, stack: DevStack, tmp_path: Path, read_only_dirs: list[Path]
) -> None:
    # Given the function's package, zipped, unpacked read-only, and the stack it talks to
    handler = _template_functions()[function]
    assert handler in HANDLER_EVENT_KINDS, f"{function}: add {handler}'s event kinds to HANDLER_EVENT_KINDS"
    kinds = HANDLER_EVENT_KINDS[handler]
    services = _derived_services()
    assert services <= set(SERVICE_CALLS), f"add a cheap call for {sorted(services - set(SERVICE_CALLS))}"
    COLLECTOR.register_secret(stack.options.relay_token, stack.options.slack_signing_secret, stack.slack_webhook_url)
    task_root = unpack_read_only(build_dir / function, tmp_path)
    read_only_dirs.append(task_root)
    deferred_id = f"endpoint-pkg-{function.lower()}"
    assert stack.together is not None
    stack.together.put(make_endpoint(deferred_id))
    builders = _events(stack, deferred_id)
    # The lambda client's cheap call is a DryRun invoke of the function ApiFunction hands work to.
    function_name = stack.env["SLACK_WORKER_FUNCTION"]
    job = {
        "handler": handler,
        "function_name": function,
        "timeout_ms": _timeout_ms(function),
        "invocations": [(kind, builders[kind]()) for kind in kinds],
        "calls": {
            service: (operation, {k: str(v).format(function=function_name) for k, v in arguments.items()})
            for service, (operation, arguments) in SERVICE_CALLS.items()
            if service in services
        },
    }
    followups_before = len(stack.slack.messages(FOLLOWUP_PATH))
    invokes_before = len(stack.relay.events) if isinstance(stack.relay, InvokeRecorder) else 0

    # When Lambda's runtime would import the handler and invoke it with each kind of event
    outcome = run_cold_start(task_root, stack, job, tmp_path / "results.json")

    # Then every invocation answered and every service's client worked, from the package alone
    answers, calls = outcome["answers"], outcome["calls"]
    assert {kind: answer.get("error") for kind, answer in answers.items() if "error" in answer} == {}
    assert {service: call.get("error") for service, call in calls.items() if "error" in call} == {}
    assert outcome["outside_modules"] == []
    _check_answers(answers, stack, deferred_id, followups_before, invokes_before)


def _check_answers(
    answers: dict[str, Any], stack: DevStack, deferred_id: str, followups_before: int, invokes_before: int
) -> None:
    if "http_lookup" in answers:
        response = answers["http_lookup"]["ok"]
        assert response["statusCode"] == 200, response
        assert HEALTHY_ID in response["body"]
    if "slack_command" in answers:
        assert answers["slack_command"]["ok"]["statusCode"] == 200
        assert isinstance(stack.relay, InvokeRecorder)
        assert [event.get("endpoint_id") for event in stack.relay.events[invokes_before:]] == [deferred_id]
    if "scheduled_sweep" in answers:
        report = answers["scheduled_sweep"]["ok"]
        assert report["checked"] > 0 and report["failed"] == [], report
    if "slack_followup" in answers:
        assert answers["slack_followup"]["ok"] == {"status": "delivered"}
        assert len(stack.slack.messages(FOLLOWUP_PATH)) > followups_before
