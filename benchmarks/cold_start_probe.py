"""Cold-start probe: one fresh process, one variant, one lookup.

Usage: ``python benchmarks/cold_start_probe.py VARIANT ENDPOINT_ID`` with VARIANT one of floor, relay (ApiFunction's
lookup), relay_v2 (ApiFunction's v2 lookup of an ``ep_`` id in TOGETHER_PROJECT_ID), relay_sweep (SweepFunction
checking one endpoint), relay_worker (SlackWorkerFunction's init and one follow-up it refuses before any I/O: the
bench stack has no Slack receiver), peer, dependencies, relay_package (``relay`` with the built package, not src/,
on PYTHONPATH). The
runner sets ``BENCH_SPAWN_NS`` (CLOCK_MONOTONIC, just before it spawned us), so the
time reported runs from process creation to the first answer, as a Lambda init plus
first invocation would. Only ``os``, ``sys`` and ``time`` (already loaded by the
interpreter) are imported before the variant's own imports.
"""

import os
import sys
import time

PROBE_START_NS = time.monotonic_ns()


class _Context:
    """The Lambda context attributes Powertools reads."""

    function_name = "endpoint-relay-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:endpoint-relay-bench"
    memory_limit_in_mb = 512
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/endpoint-relay-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _floor(endpoint_id: str) -> tuple[int, int]:
    import urllib3

    imported = time.monotonic_ns()
    http = urllib3.PoolManager()
    response = http.request(
        "GET",
        f"{os.environ['TOGETHER_API_BASE_URL']}/endpoints/{endpoint_id}",
        headers={"Authorization": f"Bearer {os.environ['TOGETHER_API_KEY']}"},
    )
    return response.status, imported


def _event(endpoint_id: str) -> dict[str, object]:
    import json

    # As the Lambda runtime would: the sample API Gateway v2 event, for this run's endpoint.
    with open(os.environ["BENCH_EVENT_FILE"], encoding="utf-8") as handle:
        text = handle.read()
    sample = json.loads(text)["pathParameters"]["endpointId"]
    event: dict[str, object] = json.loads(text.replace(sample, endpoint_id))
    return event


def _relay(endpoint_id: str) -> tuple[int, int]:
    from endpoint_relay.entrypoints.api import lambda_handler

    imported = time.monotonic_ns()
    response = lambda_handler(_event(endpoint_id), _Context())
    ok = response["statusCode"] == 200 and response["headers"].get("X-Cache") == "MISS"
    return (200 if ok else 599), imported


def _relay_v2(endpoint_id: str) -> tuple[int, int]:
    from endpoint_relay.entrypoints.api import lambda_handler

    imported = time.monotonic_ns()
    # The sample event, re-routed as API Gateway routes the SDK 3.x's retrieve (template.yaml: GET /v2/{v2Path+}).
    event = _event(endpoint_id)
    v2_path = f"projects/{os.environ['TOGETHER_PROJECT_ID']}/endpoints/{endpoint_id}"
    event["rawPath"] = f"/v2/{v2_path}"
    event["routeKey"] = "GET /v2/{v2Path+}"
    event["pathParameters"] = {"v2Path": v2_path}
    context = event["requestContext"]
    if isinstance(context, dict):
        context["routeKey"] = event["routeKey"]
        context["http"] = dict(context["http"], path=event["rawPath"])
    response = lambda_handler(event, _Context())
    ok = response["statusCode"] == 200 and response["headers"].get("X-Cache") == "MISS"
    return (200 if ok else 599), imported


def _relay_sweep(endpoint_id: str) -> tuple[int, int]:
    from endpoint_relay.entrypoints.sweep import lambda_handler

    imported = time.monotonic_ns()
    summary = lambda_handler({"endpoint_relay": "sweep", "endpoints": [endpoint_id]}, _Context())
    return (200 if summary["checked"] == 1 and not summary["failed"] else 599), imported


def _relay_worker(endpoint_id: str) -> tuple[int, int]:
    from endpoint_relay.entrypoints.slack_worker import lambda_handler

    imported = time.monotonic_ns()
    event = {
        "endpoint_relay": "slack_command",
        "command": "status",
        "endpoint_id": endpoint_id,
        "response_url": "https://not-an-allowed-host.invalid/commands/1",
        "user_id": "U0BENCH",
        "team_id": "T0BENCH",
    }
    answer = lambda_handler(event, _Context())
    return (200 if answer == {"status": "ignored"} else 599), imported


def _peer(endpoint_id: str) -> tuple[int, int]:
    from peer_handler import lambda_handler  # type: ignore[import-not-found,unused-ignore]

    imported = time.monotonic_ns()
    response = lambda_handler(_event(endpoint_id), _Context())
    return int(response["statusCode"]), imported


def _dependencies(endpoint_id: str) -> tuple[int, int]:
    """The relay's mandated dependencies doing the relay's I/O, with none of the relay's code.

    Imports boto3 and the Powertools pieces the relay uses, reads the secret through
    Powertools parameters, misses and then fills the shared table, and GETs upstream:
    a lower bound for the relay's cold start as long as those dependencies are required.
    """
    import boto3
    import urllib3
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    imported = time.monotonic_ns()
    Logger(), Metrics(), APIGatewayHttpResolver()
    session = boto3.session.Session()
    secret: dict[str, str] = SecretsProvider(boto3_client=session.client("secretsmanager")).get(
        os.environ["RELAY_SECRET_ID"], transform="json"
    )  # type: ignore[assignment,unused-ignore]
    dynamodb = session.client("dynamodb")
    key = {"pk": {"S": endpoint_id}}
    dynamodb.get_item(TableName=os.environ["CACHE_TABLE_NAME"], Key=key)
    response = urllib3.PoolManager().request(
        "GET",
        f"{os.environ['TOGETHER_API_BASE_URL']}/endpoints/{endpoint_id}",
        headers={"Authorization": f"Bearer {secret['together_api_key']}"},
    )
    item = {**key, "body": {"S": response.data.decode()}, "fetched_at": {"N": str(time.time())}}
    dynamodb.put_item(TableName=os.environ["CACHE_TABLE_NAME"], Item=item)
    return response.status, imported


def _peak_rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main() -> None:
    variant, endpoint_id = sys.argv[1], sys.argv[2]
    lookups = {
        "floor": _floor,
        "relay": _relay,
        "relay_sweep": _relay_sweep,
        "relay_worker": _relay_worker,
        "peer": _peer,
        "dependencies": _dependencies,
        "relay_package": _relay,
        "relay_v2": _relay_v2,
    }
    status, imported = lookups[variant](endpoint_id)
    answered = time.monotonic_ns()
    spawned = int(os.environ["BENCH_SPAWN_NS"])
    fields = {
        "status": status,
        "spawn_to_answer_ns": answered - spawned,
        "interpreter_ns": PROBE_START_NS - spawned,
        "import_ns": imported - PROBE_START_NS,
        "first_call_ns": answered - imported,
        "peak_rss_kb": _peak_rss_kb(),
    }
    # One line the runner looks for among whatever the handler printed (EMF metrics, logs).
    sys.stdout.write("BENCH-RESULT " + " ".join(f"{name}={value}" for name, value in fields.items()) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # As Lambda freezes the sandbox after the answer: the interpreter's shutdown is no part of a cold start,
    # and an instruction count (cold_start.instructions) must not include it either.
    os._exit(0)


if __name__ == "__main__":
    main()
