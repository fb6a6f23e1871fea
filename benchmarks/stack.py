"""The benchmarks' local stand-ins: moto server and the Together simulator, each in its own process.

Separate processes keep their request handling off the measured process's GIL, and
the OS picks free loopback ports. Each server exits when its stdin closes, so none
outlives the runner, even if the runner is killed.

``python -m benchmarks.stack moto|together`` is how the runner starts them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.together_sim_v2 import TogetherV2

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
SRC = REPO / "src"
EVENT_FILE = REPO / "events" / "http_get_endpoint.json"
SDK3_PYTHON = REPO / ".venv-sdk3" / "bin" / "python"
"""The Together SDK 3.x (v2) lives in a venv of its own (tests/sdk/requirements-sdk3.txt); its peer runs there."""
V2_PROJECT_ID = "proj_bench"
TOGETHER_API_KEY = "tgp-bench-key"  # a fake key the local simulator accepts
# The sample event carries this token, so the benchmarks use events/http_get_endpoint.json unchanged.
RELAY_TOKEN = "relay-demo-token"  # noqa: S105 - the demo token of the sample event
_NAMESPACE = uuid.UUID("6f1d2a7e-0b5c-4d6e-9f00-be0c00000000")


def endpoint_ids(kind: str, count: int) -> list[str]:
    """Stable, realistic ids (``endpoint-<uuid>``) for one benchmark's endpoints."""
    return [f"endpoint-{uuid.uuid5(_NAMESPACE, f'{kind}-{index}')}" for index in range(count)]


def v2_endpoint_ids(kind: str, count: int) -> list[str]:
    """Stable v2 ids (``ep_<hex>``) for one benchmark's endpoints, in ``V2_PROJECT_ID``."""
    return [f"ep_{uuid.uuid5(_NAMESPACE, f'v2-{kind}-{index}').hex[:20]}" for index in range(count)]


def event_endpoint_id() -> str:
    event = json.loads(EVENT_FILE.read_text(encoding="utf-8"))
    return str(event["pathParameters"]["endpointId"])


def child_environment(**extra: str) -> dict[str, str]:
    """A small, explicit environment: fake AWS credentials, nothing inherited that could reach a real account."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(WORK)),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{SRC}{os.pathsep}{REPO}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.update(extra)
    return env


@dataclass
class Stack:
    """moto server and the Together simulator, with the relay's secret and shared table provisioned."""

    moto_url: str = ""
    together_base_url: str = ""
    secret_id: str = ""
    cache_table: str = ""
    _children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, seed: list[dict[str, Any]]) -> Stack:
        from devstack import aws

        WORK.mkdir(parents=True, exist_ok=True)
        seed_file = WORK / "seed.json"
        seed_file.write_text(json.dumps(seed), encoding="utf-8")
        try:
            self.moto_url = self._spawn("moto")["url"]
            self.together_base_url = self._spawn("together", "--seed", str(seed_file))["base_url"]
            self.secret_id = aws.create_secret(
                self.moto_url,
                aws.RelaySecretValues(together_api_key=TOGETHER_API_KEY, relay_tokens=(RELAY_TOKEN,)),
                name="endpoint-relay/bench",
            )
            self.cache_table = self.new_table()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._children:
            child = self._children.pop()
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()  # the server's cue to exit
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def new_table(self) -> str:
        from devstack import aws

        return aws.create_cache_table(self.moto_url)

    # -- the simulator's control routes ------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        self._sim_post("/_sim/latency", {"seconds": seconds})

    def upstream_calls(self, ids: list[str] | None = None) -> int:
        """Calls the simulator has counted, for ``ids`` or in total."""
        calls: dict[str, int] = self._sim_get("/_sim/calls")["calls"]
        if ids is None:
            return sum(calls.values())
        return sum(calls.get(endpoint_id, 0) for endpoint_id in ids)

    def _sim_post(self, path: str, payload: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback URL we started
            self._sim_root() + path, data=json.dumps(payload).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())

    def _sim_get(self, path: str) -> Any:
        with urllib.request.urlopen(self._sim_root() + path, timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())

    def _sim_root(self) -> str:
        return self.together_base_url.removesuffix("/v1")

    # -- relay configuration -----------------------------------------------------------------------------------

    def relay_env(self, **overrides: str | None) -> dict[str, str]:
        """What template.yaml sets on the function, pointed at the local stand-ins; None removes a variable."""
        env = child_environment()
        env.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "POWERTOOLS_SERVICE_NAME": "endpoint-relay",
                "POWERTOOLS_METRICS_NAMESPACE": "EndpointRelay",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "RELAY_SECRET_ID": self.secret_id,
                "TOGETHER_API_BASE_URL": self.together_base_url,
                "RELAY_AUTH_MODE": "token",
                "CACHE_TTL_SECONDS": "30",
                "CACHE_STALE_SECONDS": "900",
                "CACHE_NEGATIVE_TTL_SECONDS": "10",
                "CACHE_TABLE_NAME": self.cache_table,
                "SECRET_MAX_AGE_SECONDS": "300",
                "XRAY_SDK_ENABLED": "false",
            }
        )
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def _spawn(self, kind: str, *args: str) -> dict[str, Any]:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.stack", kind, *args],
            cwd=REPO,
            env=child_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._children.append(child)
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 60.0)
        line = child.stdout.readline() if ready else b""
        if not line:
            raise RuntimeError(f"the {kind} server did not start")
        document: dict[str, Any] = json.loads(line)
        return document


def run_child(module: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module>`` and return the JSON document it wrote to ``--out``."""
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / f"{module}-{uuid.uuid4().hex[:8]}.json"
    completed = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--out", str(out), *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # the relay prints EMF metrics and logs there, as in Lambda
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0 or not out.exists():
        tail = completed.stderr.decode("utf-8", "replace")[-3000:]
        raise RuntimeError(f"benchmarks.{module} failed (exit {completed.returncode}):\n{tail}")
    try:
        document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink()
    return document


def write_result(path: str, document: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, indent=2), encoding="utf-8")


def count_child_args() -> argparse.Namespace:
    """The arguments of a child that seeds its own simulator: where to write its result, and how many endpoints."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=1000)
    return parser.parse_args()


def seed_v2_endpoints(
    v2: TogetherV2, prefix: str, count: int, deployment: Callable[[int], dict[str, Any]] = lambda _: {}
) -> list[str]:
    """``count`` endpoints of one deployment each in ``V2_PROJECT_ID`` (``deployment``: the options of the
    ``index``-th); returns their ``proj_…/ep_…`` keys."""
    from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint

    keys = []
    for index in range(count):
        endpoint_id = f"ep_{prefix}{index:05d}"
        seeded = make_v2_deployment(
            f"dep_{prefix}{index:05d}", endpoint_id=endpoint_id, project_id=V2_PROJECT_ID, **deployment(index)
        )
        v2.put_endpoint(make_v2_endpoint(endpoint_id, project_id=V2_PROJECT_ID, deployments=[seeded]), [seeded])
        keys.append(f"{V2_PROJECT_ID}/{endpoint_id}")
    return keys


# -- server side (in the child processes) ------------------------------------------------------------------------


def _serve_moto() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    sys.stdin.buffer.read()  # returns when the runner closes our stdin or exits
    server.stop()


def _serve_together(seed: str) -> None:
    from devstack.together_sim import TogetherSimulator

    # Its handler disables Nagle (devstack.loopback.QuietHandler), as real HTTP servers do: otherwise each
    # answer's second write would wait for the client's delayed ACK (~40 ms), swamping every number here.
    simulator = TogetherSimulator(host=HOST, api_keys={TOGETHER_API_KEY})
    for document in json.loads(Path(seed).read_text(encoding="utf-8")):
        if str(document.get("id", "")).startswith("ep_"):
            simulator.v2.put_endpoint(document)  # a v2 endpoint, in its own projectId
        else:
            simulator.put(document)
    simulator.start()
    print(json.dumps({"base_url": simulator.base_url}), flush=True)
    sys.stdin.buffer.read()
    simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="a local stand-in for the benchmarks")
    parser.add_argument("kind", choices=["moto", "together"])
    parser.add_argument("--seed", default="")
    args = parser.parse_args()
    if args.kind == "moto":
        _serve_moto()
    else:
        _serve_together(args.seed)


if __name__ == "__main__":
    main()
