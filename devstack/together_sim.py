"""A local stand-in for Together's endpoints API, for tests, the demo and benchmarks.

It is a real HTTP server on loopback. It serves DedicatedEndpoint documents,
checks the bearer key, counts calls, and injects faults on request: latency,
429 with Retry-After, 5xx, 403, connection resets, redirects, and malformed,
truncated, HTML or oversized bodies. The v2 read API (devstack/together_sim_v2.py)
is served under ``/v2`` on the same host, with the same key check and faults.

Control it in-process (``TogetherSimulator``) or, when it runs as its own
process (``python -m devstack.together_sim``), through ``/_sim/*`` routes.
"""

from __future__ import annotations

import argparse
import copy
import json
import socket
import struct
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.loopback import LoopbackServer, QuietHandler
from devstack.together_sim_v2 import TogetherV2

ALL_STATES = ("PENDING", "STARTING", "STARTED", "STOPPING", "STOPPED", "ERROR", "FAILED")


def make_endpoint(
    endpoint_id: str | None = None,
    *,
    state: str = "STARTED",
    min_replicas: int = 1,
    max_replicas: int = 2,
    display_name: str | None = None,
    model: str = "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    hardware: str = "2x_nvidia_h100_80gb_sxm",
    autoscaling: Any = ...,
) -> dict[str, Any]:
    """A DedicatedEndpoint document as Together serves it."""
    endpoint_id = endpoint_id or f"endpoint-{uuid.uuid4()}"
    document: dict[str, Any] = {
        "object": "endpoint",
        "id": endpoint_id,
        "name": f"devuser/{model}-{endpoint_id[-8:]}",
        "display_name": display_name if display_name is not None else f"Endpoint {endpoint_id[-8:]}",
        "model": model,
        "hardware": hardware,
        "type": "dedicated",
        "owner": "devuser",
        "state": state,
        "autoscaling": {"min_replicas": min_replicas, "max_replicas": max_replicas}
        if autoscaling is ...
        else autoscaling,
        "created_at": "2025-02-04T10:43:55.405Z",
    }
    if autoscaling is None:
        del document["autoscaling"]
    return document


def make_hardware(
    hardware_id: str,
    *,
    cents_per_minute: float,
    gpu_count: int = 2,
    gpu_type: str = "h100-80gb",
    gpu_memory: float = 80,
) -> dict[str, Any]:
    """One item of ``GET /v1/hardware`` as the SDK 2.x ``EndpointListHardwareResponse`` types it."""
    return {
        "id": hardware_id,
        "object": "hardware",
        "pricing": {"cents_per_minute": cents_per_minute},
        "specs": {"gpu_count": gpu_count, "gpu_link": "sxm", "gpu_memory": gpu_memory, "gpu_type": gpu_type},
        "updated_at": "2025-02-04T10:43:55.405Z",
        "availability": {"status": "available"},
    }


def default_hardware() -> list[dict[str, Any]]:
    """The v1 hardware list the simulator serves until a test puts its own (prices per replica-minute)."""
    return [
        make_hardware("1x_nvidia_a100", cents_per_minute=4.3, gpu_count=1, gpu_type="a100-80gb"),
        make_hardware("2x_nvidia_h100_80gb_sxm", cents_per_minute=11.6333),
        make_hardware("8x_nvidia_h200_140gb_sxm", cents_per_minute=59.8667, gpu_count=8, gpu_type="h200-140gb"),
    ]


@dataclass
class Fault:
    """One scripted misbehaviour, consumed by the next matching request."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    reset_connection: bool = False
    truncate: bool = False
    delay: float = 0.0


class TogetherSimulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_keys: set[str] | None = None) -> None:
        self.api_keys: set[str] = set(api_keys or {"sim-together-key"})
        self.latency = 0.0
        self._endpoints: dict[str, dict[str, Any]] = {}
        self._hardware: dict[str, dict[str, Any]] = {item["id"]: item for item in default_hardware()}
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.auth_failures = 0
        self.last_request_headers: dict[str, str] = {}
        self.v2 = TogetherV2()
        self.v1_retired: int | None = None
        """When set (403, 404 or 410), every v1 request answers it, as Together does once v1 is switched off."""
        self._server = LoopbackServer(_handler_for(self), host=host, port=port, name="together-sim")

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self._server.url}/v1"

    @property
    def v2_base_url(self) -> str:
        return f"{self._server.url}/v2"

    def start(self) -> TogetherSimulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> TogetherSimulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- control -----------------------------------------------------------------------------------------------

    def put(self, document: dict[str, Any]) -> str:
        with self._lock:
            self._endpoints[document["id"]] = copy.deepcopy(document)
        return str(document["id"])

    def update(self, endpoint_id: str, **fields: Any) -> None:
        with self._lock:
            self._endpoints[endpoint_id].update(fields)

    def remove(self, endpoint_id: str) -> None:
        with self._lock:
            self._endpoints.pop(endpoint_id, None)

    def put_hardware(self, item: dict[str, Any]) -> None:
        """Add or replace one ``/v1/hardware`` item (see :func:`make_hardware`)."""
        with self._lock:
            self._hardware[item["id"]] = copy.deepcopy(item)

    def remove_hardware(self, hardware_id: str) -> None:
        with self._lock:
            self._hardware.pop(hardware_id, None)

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self._endpoints.clear()
            self._hardware = {item["id"]: item for item in default_hardware()}
            self._faults.clear()
            self.calls.clear()
            self.auth_failures = 0
            self.latency = 0.0
            self.v1_retired = None
        self.v2.reset()

    def call_count(self, endpoint_id: str | None = None) -> int:
        """Calls for one v1 endpoint id, ``"<list>"``, ``"<hardware>"`` or a v2 path (no query); all if None."""
        with self._lock:
            if endpoint_id is None:
                return sum(self.calls.values())
            return self.calls[endpoint_id]

    # -- request handling (called from the server's threads) -------------------------------------------------------

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _lookup(self, endpoint_id: str) -> dict[str, Any] | None:
        with self._lock:
            self.calls[endpoint_id] += 1
            document = self._endpoints.get(endpoint_id)
            return copy.deepcopy(document) if document is not None else None

    def _list(self) -> list[dict[str, Any]]:
        with self._lock:
            self.calls["<list>"] += 1
            return [
                {key: value for key, value in doc.items() if key != "autoscaling"} for doc in self._endpoints.values()
            ]

    def _hardware_list(self) -> list[dict[str, Any]]:
        with self._lock:
            self.calls["<hardware>"] += 1
            return copy.deepcopy(list(self._hardware.values()))


def _handler_for(sim: TogetherSimulator) -> type[BaseHTTPRequestHandler]:
    return type("TogetherSimHandler", (_SimHandler,), {"sim": sim})


class _SimHandler(QuietHandler):
    sim: TogetherSimulator

    def do_GET(self) -> None:  # noqa: N802 - http.server dispatches on this name
        sim = self.sim
        url = urlsplit(self.path)
        if url.path.startswith("/_sim/"):
            self._control_get(url.path)
            return
        sim.last_request_headers = dict(self.headers.items())
        if sim.latency:
            time.sleep(sim.latency)
        if self.headers.get("Authorization") not in {f"Bearer {key}" for key in sim.api_keys}:
            with sim._lock:
                sim.auth_failures += 1
            if url.path.startswith("/v2/"):
                self._json(401, sim.v2.error_body(401, "Invalid API key provided"))
            else:
                self._json(403, _error("Invalid API key provided", "invalid_api_key"))
            return
        if url.path.startswith("/v2/"):
            self._v2(url.path, url.query)
            return
        if sim.v1_retired is not None:
            with sim._lock:
                sim.calls["<v1 retired>"] += 1
            self._json(sim.v1_retired, _V1_RETIRED)
            return
        if url.path == "/v1/hardware":
            self._hardware()
            return
        if url.path == "/v1/endpoints":
            self._list(parse_qs(url.query).get("type", ["dedicated"])[0])
            return
        prefix = "/v1/endpoints/"
        if not url.path.startswith(prefix):
            self._json(404, _error("Not found", "not_found"))
            return
        endpoint_id = url.path[len(prefix) :]
        document = sim._lookup(endpoint_id)
        fault = sim._next_fault()
        if fault is not None:
            self._fault(fault)
        elif document is None:
            self._json(404, _error(f"Endpoint {endpoint_id} not found", "not_found"))
        else:
            self._json(200, document)

    def _list(self, kind: str) -> None:
        data = self.sim._list() if kind == "dedicated" else []
        fault = self.sim._next_fault()
        if fault is not None:
            self._fault(fault)
            return
        self._json(200, {"object": "list", "data": data})

    def _hardware(self) -> None:
        data = self.sim._hardware_list()
        fault = self.sim._next_fault()
        if fault is not None:
            self._fault(fault)
            return
        self._json(200, {"object": "list", "data": data})

    def _v2(self, path: str, query: str) -> None:
        sim = self.sim
        request = sim.v2.resolve(path, query)
        if request is None:
            self._json(404, sim.v2.error_body(404, "Not found"))
            return
        with sim._lock:
            sim.calls[request.label] += 1
        fault = sim._next_fault()
        if fault is not None:
            self._fault(fault, sim.v2.error_body(fault.status, "simulated failure"))
            return
        status, document = request.answer()
        self._json(status, document)

    def do_POST(self) -> None:  # noqa: N802 - http.server dispatches on this name
        sim = self.sim
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        if path == "/_sim/endpoints":
            self._json(200, {"id": sim.put(payload)})
        elif path == "/_sim/update":
            sim.update(payload.pop("id"), **payload)
            self._json(200, {"ok": True})
        elif path == "/_sim/hardware":
            sim.put_hardware(payload)
            self._json(200, {"ok": True})
        elif path == "/_sim/instance_types":
            sim.v2.put_instance_type(payload)
            self._json(200, {"ok": True})
        elif path == "/_sim/faults":
            sim.inject(*(_fault_from(item) for item in payload.get("faults", [])))
            self._json(200, {"ok": True})
        elif path == "/_sim/latency":
            sim.latency = float(payload.get("seconds", 0))
            self._json(200, {"ok": True})
        elif path == "/_sim/v1_retired":
            status = payload.get("status")
            sim.v1_retired = int(status) if status is not None else None
            self._json(200, {"ok": True})
        elif path == "/_sim/reset":
            sim.reset()
            self._json(200, {"ok": True})
        else:
            self._json(404, _error("Not found", "not_found"))

    def _control_get(self, path: str) -> None:
        if path == "/_sim/calls":
            with self.sim._lock:
                self._json(200, {"calls": dict(self.sim.calls), "auth_failures": self.sim.auth_failures})
        else:
            self._json(404, _error("Not found", "not_found"))

    def _fault(self, fault: Fault, default_body: dict[str, Any] | None = None) -> None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset_connection:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault.body is not None:
            body = fault.body
        else:
            body = json.dumps(default_body or _error("simulated failure", "sim")).encode()
        self.send_response(fault.status)
        headers = {"Content-Type": "application/json", **fault.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        declared = len(body) * 2 if fault.truncate else len(body)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body)
        if fault.truncate:
            self.wfile.flush()
            self.close_connection = True

    def _json(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


_V1_RETIRED = _error(
    "Dedicated endpoints v1 is no longer available for your organization; use the v2 endpoints API",
    "endpoints_v1_create_access_disabled",
)


def _fault_from(item: dict[str, Any]) -> Fault:
    body = item.get("body")
    return Fault(
        status=int(item.get("status", 500)),
        headers=dict(item.get("headers", {})),
        body=body.encode() if isinstance(body, str) else None,
        reset_connection=bool(item.get("reset_connection", False)),
        truncate=bool(item.get("truncate", False)),
        delay=float(item.get("delay", 0.0)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Together endpoints API simulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", action="append", default=[])
    parser.add_argument("--seed", help="JSON file with a list of DedicatedEndpoint documents")
    args = parser.parse_args()
    sim = TogetherSimulator(port=args.port, api_keys=set(args.api_key) or None)
    if args.seed:
        with open(args.seed, encoding="utf-8") as handle:
            for document in json.load(handle):
                sim.put(document)
    print(json.dumps({"base_url": sim.base_url}), flush=True)
    sim._server.serve_until_interrupted()


if __name__ == "__main__":
    main()
