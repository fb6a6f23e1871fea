"""moto in server mode as a child process of its own, for `make demo` and `make serve`.

Children get fake credentials and none of the developer's secrets, run in
their own process group, and exit by themselves when the parent dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from devstack import aws

HOST = "127.0.0.1"


class StackError(RuntimeError):
    """A part of the local stack failed to start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# Runs moto's own server entry point, plus one guard: when the parent's end of
# stdin closes (the parent exited, even by SIGKILL) moto exits too, so no
# orphan outlives `make serve`.
_MOTO_LAUNCHER = """
import os, sys, threading
def _exit_with_parent():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=_exit_with_parent, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
"""


class MotoServer:
    """``python -m moto.server`` as a child process in its own process group."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # moto's output, shown if it fails to start
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> MotoServer:
        for _ in range(3):  # another process may grab the free port before moto binds it
            self.port = free_port()
            self._process = subprocess.Popen(
                [sys.executable, "-c", _MOTO_LAUNCHER, "-H", HOST, "-p", str(self.port)],
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a unit, not by the terminal's Ctrl-C
                env=_child_environment(),
            )
            if self._wait_until_ready():
                return self
            self.stop()
        raise StackError(f"moto server did not start; its output ends with:\n{self._log_tail()}")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with _DIRECT.open(f"{self.url}/moto-api/", timeout=1.0):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if process.stdin is not None:
            process.stdin.close()

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        self.stop()
        self._log.close()


def _child_environment() -> dict[str, str]:
    """Children get fake credentials and none of the caller's secrets."""
    env = {name: value for name, value in os.environ.items() if name not in (*SECRET_INPUTS, *AWS_IDENTITY)}
    env.update(LOOPBACK_ENV)
    return env


def bypass_proxies_for_loopback() -> None:
    """Keep loopback traffic off any HTTP(S)_PROXY a laptop has set (boto3 and urllib honour these)."""
    listed = [part for part in os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")).split(",") if part]
    merged = ",".join(dict.fromkeys([*listed, HOST, "localhost"]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = merged


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Fake credentials and one region: nothing can reach a real AWS account.
LOOPBACK_ENV = {
    "AWS_DEFAULT_REGION": aws.REGION,
    "AWS_REGION": aws.REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
# Developer inputs that are secrets: they go into the relay's secret, never into an environment.
SECRET_INPUTS = ("TOGETHER_API_KEY", "RELAY_LOCAL_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_WEBHOOK_URL")
# The caller's AWS identity must never reach the local stack (or, by accident, a real account).
AWS_IDENTITY = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
