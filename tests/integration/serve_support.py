"""`make serve` started as a user starts it, for the tests that talk to it over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.moto_process import free_port
from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator
from tests.integration.slack_support import signed_headers, slack_form
from tests.leakcheck import COLLECTOR

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90.0
"""Upper bound for the stack to come up on a busy machine; it normally takes a few seconds."""
REQUEST_TIMEOUT = 30.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    token: str
    signing_secret: str
    child_pids: list[int]
    output: list[str] = field(default_factory=list)


def start_serve(extra_env: dict[str, str] | None = None) -> Served:
    """`make serve` in a process of its own, on a free port; ``extra_env`` adds or replaces variables."""
    token = "relay-test-" + secrets.token_urlsafe(16)
    signing_secret = secrets.token_hex(16)
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        # The suite's defaults point at a dead port; serve must choose its own upstream and AWS.
        if not name.startswith(("TOGETHER_API_", "RELAY_", "SLACK_", "AWS_ENDPOINT_URL"))
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "RELAY_PORT": str(port),
            "RELAY_LOCAL_TOKEN": token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SWEEP_SECONDS": "0",  # the schedule is not under test here; keep the output quiet
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    served = Served(process, f"http://127.0.0.1:{port}", token, signing_secret, child_pids=[])
    lines: queue.Queue[str | None] = queue.Queue()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            served.output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_output, daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        line = lines.get(timeout=remaining) if remaining > 0 else None
        if line is None:
            process.kill()
            pytest.fail("make serve did not start:\n" + "".join(served.output[-40:]))
        if "child processes:" in line:
            served.child_pids = [int(pid) for pid in line.split("child processes:", 1)[1].split()]
        if "stop with Ctrl-C" in line:
            return served


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def http_request(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
) -> HttpResult:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 - loopback
    try:
        with _DIRECT.open(request, timeout=REQUEST_TIMEOUT) as response:
            result = HttpResult(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        result = HttpResult(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
    COLLECTOR.add_text(result.body.decode("utf-8", "replace"))
    COLLECTOR.add_text(json.dumps(result.headers))
    return result


def stop_serve(served: Served) -> None:
    """SIGTERM, as Ctrl-C would; killed with its process group if it does not stop in time."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(served.process.pid, signal.SIGKILL)


def v2_serve_fixtures(*, key: str, project: str) -> tuple[Any, Any]:
    """A module's ``slack`` and ``served`` fixtures: one Slack receiver, and ``make serve`` against the module's
    ``upstream`` simulator with one v2 project and that receiver's webhook, shared by the module's tests."""

    @pytest.fixture(scope="module")
    def slack() -> Iterator[SlackReceiver]:
        with SlackReceiver() as receiver:
            yield receiver

    @pytest.fixture(scope="module")
    def served(upstream: TogetherSimulator, slack: SlackReceiver) -> Iterator[Served]:
        running = start_serve(
            {
                "TOGETHER_API_BASE_URL": upstream.base_url,
                "TOGETHER_API_KEY": key,
                "TOGETHER_PROJECT_ID": project,
                "SLACK_WEBHOOK_URL": slack.webhook_url(),
            }
        )
        COLLECTOR.register_secret(running.token, running.signing_secret, key)
        try:
            yield running
        finally:
            stop_serve(running)

    return slack, served


def signed_command(served: Served, text: str, response_url: str) -> HttpResult:
    """``/together <text>`` as Slack posts it to the served relay, signed with its signing secret."""
    body = slack_form(text, team_id="T0001", user_id="U2147483697", response_url=response_url)
    headers = signed_headers(served.signing_secret, body)
    return http_request(f"{served.url}/slack/commands", method="POST", headers=headers, body=body)


def status_answer(served: Served, slack: SlackReceiver, key: str, expect: str, *, prefix: str, wait: float) -> str:
    """``/together status <key>``'s answer: the acknowledgement when it already holds ``expect`` (from the cache),
    else the Slack worker's follow-up, posted to ``slack`` under ``prefix`` within ``wait`` seconds."""
    reply = signed_command(served, f"status {key}", f"{slack.url}{prefix}T0001/1/status")
    assert reply.status == 200, reply.body
    answers = [reply.body.decode()]
    if expect not in answers[0]:
        answers += [message.body.decode() for message in slack.wait_for(1, timeout=wait, path_prefix=prefix)]
    return answers[-1]
