"""Harness for alerting tests: scheduled sweeps through lambda_handler, a controllable clock,
and readers for what reached the Slack receiver and the SNS topic (through an SQS subscription)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from devstack.aws import aws_client
from devstack.events import FakeLambdaContext, load_event
from devstack.slack_receiver import SlackReceiver
from tests.fakes import FakeClock
from tests.integration.conftest import Relay
from tests.leakcheck import COLLECTOR

ANNOUNCEMENT_EVENT_TYPES = ("EndpointAlertMuted", "EndpointAlertUnmuted")
ANNOUNCEMENT_TITLES = ("Muted:", "Unmuted:")


@dataclass
class AlertingHarness:
    relay: Relay
    receiver: SlackReceiver
    clock: FakeClock
    topic_arn: str
    queue_url: str
    table_name: str
    _sns: list[dict[str, Any]] = field(default_factory=list)
    _sqs: Any = None

    def sweep(self, *endpoint_ids: str, remaining_ms: int = 300_000) -> dict[str, Any]:
        """One scheduled invocation, with the sample event from events/ naming these ids (or "all")."""
        event = load_event("scheduled_sweep.json")
        event["endpoints"] = list(endpoint_ids) if endpoint_ids else "all"
        result: dict[str, Any] = self.relay.invoke(event, FakeLambdaContext(remaining_ms=remaining_ms))
        COLLECTOR.add_text(json.dumps(result))
        return result

    def slack_payloads(self) -> list[dict[str, Any]]:
        payloads = [message.json() for message in self.receiver.messages("/services/")]
        for payload in payloads:
            COLLECTOR.add_text(json.dumps(payload))
        return payloads

    def slack_headers(self) -> list[str]:
        """The header of each delivered message ("🔴 Firing: ...")."""
        return [payload["blocks"][0]["text"]["text"] for payload in self.slack_payloads()]

    def slack_alerts(self) -> list[dict[str, Any]]:
        """Slack messages about endpoint findings (not mute announcements)."""
        return [payload for payload in self.slack_payloads() if not _announces(payload["blocks"][0]["text"]["text"])]

    def slack_announcements(self) -> list[str]:
        """The headers of the mute announcements Slack received ("🔕 Muted: ...")."""
        return [header for header in self.slack_headers() if _announces(header)]

    def sns_notifications(self) -> list[dict[str, Any]]:
        """Every SNS envelope published so far (Subject, Message, MessageAttributes), in order."""
        if self._sqs is None:
            self._sqs = aws_client("sqs", self.relay.moto_endpoint)
        sqs = self._sqs
        for _ in range(20):  # bounded: moto delivers synchronously, so the queue drains in a few reads
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = batch.get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._sns.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._sns)

    def sns_event_types(self) -> list[str]:
        return [json.loads(envelope["Message"])["metadata"]["eventType"] for envelope in self.sns_notifications()]

    def sns_alerts(self) -> list[dict[str, Any]]:
        """SNS notifications about endpoint findings (not mute announcements)."""
        return [
            envelope
            for envelope in self.sns_notifications()
            if json.loads(envelope["Message"])["metadata"]["eventType"] not in ANNOUNCEMENT_EVENT_TYPES
        ]

    def sns_announcements(self) -> list[dict[str, Any]]:
        """The mute announcements' Amazon Q documents, parsed."""
        documents = [json.loads(envelope["Message"]) for envelope in self.sns_notifications()]
        return [document for document in documents if document["metadata"]["eventType"] in ANNOUNCEMENT_EVENT_TYPES]


def _announces(header: str) -> bool:
    return header.split(" ", 1)[-1].startswith(ANNOUNCEMENT_TITLES)
