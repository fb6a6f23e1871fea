"""With the X-Ray SDK on, no (sub)segment records a capability URL.

Patching urllib3 would record every urllib3 call, with its exceptions: a
MaxRetryError's message carries the webhook URL. The SDK patches in-process and
for good, so the traced delivery runs in a child process, in a directory
laid out like Lambda's /var/task (the packages next to the code), where the SDK
finds urllib3 to patch as it would in a deployed function.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aws_xray_sdk")
import urllib3

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TASK_ROOT = Path(urllib3.__file__).resolve().parents[1]  # site-packages: urllib3/ sits in it, as in /var/task

_TRACED_DELIVERY = """
import json, os, sys

from aws_xray_sdk.core import xray_recorder


class MemoryEmitter:
    def __init__(self):
        self.entities = []

    def send_entity(self, entity):
        self.entities.append(entity.serialize())

    def set_daemon_address(self, address):
        pass


emitter = MemoryEmitter()
xray_recorder.configure(emitter=emitter, sampling=False, context_missing="IGNORE_ERROR", streaming_threshold=0)

from devstack.events import FakeLambdaContext
from endpoint_relay.adapters.slack_webhook import SlackWebhookClient
from endpoint_relay.core.alerting import DeliveryError
from endpoint_relay.observability import traced


def deliver(event, context):
    try:
        SlackWebhookClient(lambda: os.environ["WEBHOOK_URL"]).post({"text": "traced"})
    except DeliveryError as exc:
        return {"kind": exc.kind}
    return {"kind": None}


print(json.dumps({"answer": traced(deliver, enabled=True)({}, FakeLambdaContext()), "entities": emitter.entities}))
"""


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_failing_webhook_delivery_leaves_its_url_out_of_every_trace_segment() -> None:
    # Given tracing on, as in Lambda, and a webhook URL whose secret path leads nowhere
    token = "xray-" + secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "LAMBDA_TASK_ROOT": str(TASK_ROOT),
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "WEBHOOK_URL": f"http://127.0.0.1:{_closed_port()}/services/T0RELAY01/B0RELAY01/{token}",
    }
    # When a delivery fails inside the traced handler
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _TRACED_DELIVERY], cwd=TASK_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-2000:].replace(token, "<token>")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # Then the delivery failed as expected, and segments were recorded
    assert result["answer"] == {"kind": "unavailable"}
    assert result["entities"], "the tracer recorded nothing: the test did not exercise it"
    # And no recorded (sub)segment carries the webhook's secret path
    leaking = sum(token in entity for entity in result["entities"])
    assert leaking == 0, f"{leaking} recorded (sub)segment(s) carry the webhook's secret path"
