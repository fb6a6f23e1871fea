"""Runs in the child process of test_from_package.py: a cold start of the unpacked package, as Lambda runs it.

Started as ``python -I -S lambda_runner.py RESULT_FILE`` (no site-packages, no src/, no script dir on
sys.path) with the job as JSON on stdin. Only the standard library and ``LAMBDA_TASK_ROOT`` are importable,
as in the Lambda runtime (whose own boto3 would come after the package, and which the package must not need).
The handler's own log lines go to stdout; the results go to RESULT_FILE as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import sysconfig
import traceback
import uuid
from typing import Any


class LambdaContext:
    """The attributes the runtime's context has that Powertools and the relay read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "package-test"

    def get_remaining_time_in_millis(self) -> int:
        # The function's Timeout from template.yaml, as a fresh invocation has it.
        return int(os.environ.get("RUNNER_TIMEOUT_MS", "29000"))


def _failure() -> str:
    return "".join(traceback.format_exc(limit=-6))


def run(job: dict[str, Any]) -> dict[str, Any]:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)  # what the runtime's bootstrap does before importing the handler
    module_name, _, function_name = job["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
    context = LambdaContext(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    answers: dict[str, Any] = {}
    for kind, event in job["invocations"]:
        try:
            answers[kind] = {"ok": handler(event, context)}
        except Exception:
            answers[kind] = {"error": _failure()}
    # Every service the code can call, through the relay's own client factory, one cheap call each.
    aws_clients = importlib.import_module("endpoint_relay.adapters.aws_clients")
    calls: dict[str, Any] = {}
    for service, (operation, arguments) in job["calls"].items():
        try:
            getattr(aws_clients.client(service), operation)(**arguments)
            calls[service] = {"ok": operation}
        except Exception:
            calls[service] = {"error": _failure()}
    return {"answers": answers, "calls": calls, "outside_modules": _modules_outside(task_root)}


def _modules_outside(task_root: str) -> list[str]:
    """Loaded modules from neither the package nor the standard library (there should be none)."""
    allowed = (task_root, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    outside: list[str] = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        # This runner itself is __main__ (and __mp_main__ once multiprocessing is imported).
        if isinstance(path, str) and not path.startswith(allowed) and path != __file__:
            outside.append(name)
    return sorted(outside)


def main() -> None:
    job = json.load(sys.stdin)
    result = run(job)
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
