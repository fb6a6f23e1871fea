"""What a notice costs, through `make serve`: a FAILED deployment still holding replicas, priced from the catalogue.

`make serve` is pointed at a simulator this test seeds with the demo's "costed notice" endpoint and instance type,
and at a Slack receiver it owns; SNS is read back from the topic's SQS subscription on serve's own moto server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from devstack.aws import aws_client
from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator
from devstack.v2_seed import V2_COSTLY_ID as COSTLY_ID
from devstack.v2_seed import costly_v2_endpoint, seeded_instance_types
from tests.integration.serve_support import Served, http_request, status_answer, v2_serve_fixtures

pytestmark = pytest.mark.integration

KEY = "tgp-serve-prices-" + "k" * 16
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
WEBHOOK = "/services/"
RESPONSES = "/commands/"
SNS_QUEUE = "endpoint-relay-local-alerts-subscriber"
WAIT = 30.0
"""Upper bound for an asynchronous answer to arrive; it normally takes well under a second."""


@pytest.fixture(scope="module")
def upstream() -> Iterator[TogetherSimulator]:
    with TogetherSimulator(api_keys={KEY}) as sim:
        for instance_type in seeded_instance_types():
            sim.v2.put_instance_type(instance_type)
        seeded = costly_v2_endpoint(PROJECT)
        sim.v2.put_endpoint(seeded.endpoint, seeded.deployments)
        yield sim


slack, served = v2_serve_fixtures(key=KEY, project=PROJECT)


def _moto_url(served: Served) -> str:
    prefix = "aws (moto server): "
    [line] = [line for line in served.output if prefix in line]
    return line.split(prefix, 1)[1].strip()


def _sns_descriptions(served: Served) -> list[str]:
    """The descriptions SNS delivered to the topic's SQS subscription, waiting (bounded) for the first."""
    sqs = aws_client("sqs", _moto_url(served))
    queue_url = sqs.get_queue_url(QueueName=SNS_QUEUE)["QueueUrl"]
    found: list[str] = []
    deadline = time.monotonic() + WAIT
    for _ in range(30):
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in received.get("Messages", []):
            envelope = json.loads(message["Body"])
            found.append(json.loads(envelope["Message"])["content"]["description"])
        if found or time.monotonic() > deadline:
            break
    return found


def test_a_failed_deployment_holding_three_replicas_notifies_what_it_bills(
    served: Served, upstream: TogetherSimulator, slack: SlackReceiver
) -> None:
    # When the FAILED endpoint (3 ready replicas of an instance type at 3192 cents/h) is looked up
    answer = http_request(
        f"{served.url}/v2/projects/{PROJECT}/endpoints/{COSTLY_ID}",
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert answer.status == 200, answer.body
    # Then the Slack notice shows $95.76/h, and that the replicas bill without serving
    [notice] = [
        text
        for text in (json.dumps(message.json(), ensure_ascii=False) for message in slack.messages(WEBHOOK))
        if COSTLY_ID in text
    ]
    assert "$95.76/h" in notice
    assert "failed, yet still holds 3 replica(s) billing $95.76/h that do not serve" in notice
    # And so does the SNS notification
    [description] = _sns_descriptions(served)
    assert "*Cost:* $95.76/h" in description and "still holds 3 replica(s)" in description
    # And the price came from the v2 catalogue, read once; the v1 hardware list was never asked for
    assert upstream.call_count("/v2/public/inference-instance-types") == 1
    assert upstream.call_count("<hardware>") == 0


def test_status_shows_the_same_cost(served: Served, slack: SlackReceiver) -> None:
    answer = status_answer(served, slack, COSTLY_ID, "$95.76/h", prefix=RESPONSES, wait=WAIT)
    assert "$95.76/h" in answer
