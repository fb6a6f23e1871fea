"""The v2 peer: the Together SDK 3.x, run by ``.venv-sdk3``'s python, never by the relay's or the bench's venv.

The SDK 3.x calls only Together's v2 API and pins its own dependencies (httpx,
pydantic), so it lives in a venv of its own (tests/sdk/requirements-sdk3.txt) and
the benchmarks talk to it as a separate process. It imports only the standard
library and the SDK. Two modes:

- ``serve``: a warm client. Each line on stdin is a count N; it answers with one
  JSON line, the nanoseconds of N ``client.endpoints.retrieve(id)`` calls. An
  empty line or EOF ends it. The runner alternates these blocks with its own.
- ``cold ENDPOINT_ID``: one cold start, timed as ``benchmarks/cold_start_probe.py``
  times one: import the SDK, construct the client, first retrieve, then a
  ``BENCH-RESULT`` line. ``BENCH_SPAWN_NS`` is the runner's clock just before it
  spawned us.

Configuration comes from the environment: ``TOGETHER_BASE_URL`` (the simulator's
root), ``TOGETHER_API_KEY``, ``TOGETHER_PROJECT_ID``, and for ``serve``
``BENCH_V2_ENDPOINT_ID``.
"""

import os
import sys
import time

PROBE_START_NS = time.monotonic_ns()


def _client() -> object:
    from together import Together  # type: ignore[import-not-found,unused-ignore]

    return Together(
        base_url=os.environ["TOGETHER_BASE_URL"],
        api_key=os.environ["TOGETHER_API_KEY"],
        project_id=os.environ["TOGETHER_PROJECT_ID"],
        max_retries=0,
    )


def _peak_rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def cold() -> None:
    endpoint_id = sys.argv[2]
    from together import Together  # type: ignore[import-not-found,unused-ignore]  # noqa: F401 - timed import

    imported = time.monotonic_ns()
    client = _client()
    endpoint = client.endpoints.retrieve(endpoint_id)  # type: ignore[attr-defined]
    answered = time.monotonic_ns()
    spawned = int(os.environ["BENCH_SPAWN_NS"])
    fields = {
        "status": 200 if endpoint.id == endpoint_id else 599,
        "spawn_to_answer_ns": answered - spawned,
        "interpreter_ns": PROBE_START_NS - spawned,
        "import_ns": imported - PROBE_START_NS,
        "first_call_ns": answered - imported,
        "peak_rss_kb": _peak_rss_kb(),
    }
    sys.stdout.write("BENCH-RESULT " + " ".join(f"{name}={value}" for name, value in fields.items()) + "\n")
    sys.stdout.flush()


def serve() -> None:
    import json

    endpoint_id = os.environ["BENCH_V2_ENDPOINT_ID"]
    endpoints = _client().endpoints  # type: ignore[attr-defined]
    for line in sys.stdin:
        if not line.strip():
            break
        samples = []
        for _ in range(int(line)):
            started = time.perf_counter_ns()
            endpoints.retrieve(endpoint_id)
            samples.append(time.perf_counter_ns() - started)
        sys.stdout.write(json.dumps(samples) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    {"cold": cold, "serve": serve}[sys.argv[1]]()
