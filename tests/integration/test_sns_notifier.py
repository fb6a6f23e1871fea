"""The SNS sink against moto server: what subscribers receive, and what their filter policies can select."""

from __future__ import annotations

import json
import uuid
from typing import Any

from devstack.aws import aws_client
from endpoint_relay.adapters.sns_notifier import SnsSink
from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.policy import Finding, Severity
from tests.leakcheck import COLLECTOR

EP = "endpoint-5e1f0c2a-7d3b-4c8e-9a61-2b4d6f8a0c13"
NAME = "\u63a8\u8ad6 \u041c\u043e\u0434\u0435\u043b\u044c"  # Japanese and Russian


def _notice() -> Notice:
    return Notice(
        id=f"{EP}:firing:1",
        kind=NoticeKind.FIRING,
        endpoint=EndpointSnapshot(EP, NAME, "org/m", "org/model", "2x_h100", "STARTED", 0, 4, 1, 2),
        findings=(
            Finding("min_replicas_below_expected", Severity.CRITICAL, "expected min_replicas >= 1, actual 0"),
            Finding("max_replicas_above_expected", Severity.WARNING, "expected max_replicas <= 2, actual 4"),
        ),
        opened_at=1_800_000_000.0,
        created_at=1_800_000_060.0,
    )


def _subscribed_queue(moto_endpoint: str, topic_arn: str, filter_policy: dict[str, Any] | None) -> str:
    sqs = aws_client("sqs", moto_endpoint)
    queue_url = str(sqs.create_queue(QueueName=f"sub-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    aws_client("sns", moto_endpoint).subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes
    )
    return queue_url


def _envelopes(moto_endpoint: str, queue_url: str) -> list[dict[str, Any]]:
    """What reached the queue (moto delivers synchronously, so one read sees everything)."""
    messages = aws_client("sqs", moto_endpoint).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    )
    envelopes = [json.loads(message["Body"]) for message in messages.get("Messages", [])]
    COLLECTOR.add_text(json.dumps(envelopes))
    return envelopes


def test_a_subscriber_can_filter_on_any_finding_kind_not_only_the_first(moto_endpoint: str) -> None:
    # Given subscribers filtering on the notice's second finding kind, on its first, and on a kind it lacks
    topic_arn = str(aws_client("sns", moto_endpoint).create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"])
    second = _subscribed_queue(moto_endpoint, topic_arn, {"kind": ["max_replicas_above_expected"]})
    first = _subscribed_queue(moto_endpoint, topic_arn, {"kind": ["min_replicas_below_expected"]})
    other = _subscribed_queue(moto_endpoint, topic_arn, {"kind": ["state_failed"]})
    everything = _subscribed_queue(moto_endpoint, topic_arn, None)
    # When the sink publishes a notice with two findings
    results = SnsSink(
        topic_arn, lambda endpoint_id: f"https://console.example/{endpoint_id}", client=aws_client("sns", moto_endpoint)
    ).deliver([_notice()])
    # Then it was accepted, and the kind attribute is a String.Array of every finding kind
    assert results == {f"{EP}:firing:1": None}
    (envelope,) = _envelopes(moto_endpoint, everything)
    kind = envelope["MessageAttributes"]["kind"]
    assert kind["Type"] == "String.Array"
    assert json.loads(kind["Value"]) == ["min_replicas_below_expected", "max_replicas_above_expected"]
    # And a filter on either kind receives it, a filter on a kind it does not have does not
    assert len(_envelopes(moto_endpoint, second)) == 1
    assert len(_envelopes(moto_endpoint, first)) == 1
    assert _envelopes(moto_endpoint, other) == []


def test_a_non_latin_endpoint_name_reaches_subscribers_in_subject_and_message(moto_endpoint: str) -> None:
    topic_arn = str(aws_client("sns", moto_endpoint).create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"])
    queue_url = _subscribed_queue(moto_endpoint, topic_arn, None)
    sink = SnsSink(topic_arn, lambda endpoint_id: "https://console.example/x", client=aws_client("sns", moto_endpoint))
    assert sink.deliver([_notice()]) == {f"{EP}:firing:1": None}
    (envelope,) = _envelopes(moto_endpoint, queue_url)
    assert NAME in envelope["Subject"]
    assert NAME in json.loads(envelope["Message"])["content"]["title"]
