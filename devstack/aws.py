"""Provision, on moto server, the resources template.yaml defines, with the same shapes.

Secret layout, table keys and TTL attributes match the template, so the code
under test cannot tell moto from AWS.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from devstack.loopback import LoopbackServer
from endpoint_relay.core.tokens import token_digest

REGION = "us-east-1"


def aws_client(service: str, endpoint_url: str) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass(frozen=True)
class RelaySecretValues:
    together_api_key: str
    relay_tokens: tuple[str, ...]
    slack_signing_secret: str | None = None
    slack_webhook_url: str | None = None

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "together_api_key": self.together_api_key,
            "relay_token_sha256": [token_digest(token) for token in self.relay_tokens],
        }
        if self.slack_signing_secret:
            document["slack_signing_secret"] = self.slack_signing_secret
        if self.slack_webhook_url:
            document["slack_webhook_url"] = self.slack_webhook_url
        return document


def create_secret(endpoint_url: str, values: RelaySecretValues, name: str | None = None) -> str:
    client = aws_client("secretsmanager", endpoint_url)
    created = client.create_secret(
        Name=name or f"endpoint-relay/{uuid.uuid4().hex[:8]}", SecretString=json.dumps(values.document())
    )
    return str(created["ARN"])


def put_secret(endpoint_url: str, secret_id: str, document: Any) -> None:
    client = aws_client("secretsmanager", endpoint_url)
    text = document if isinstance(document, str) else json.dumps(document)
    client.put_secret_value(SecretId=secret_id, SecretString=text)


def create_cache_table(endpoint_url: str, name: str | None = None) -> str:
    """The shared cache table: key ``pk``, TTL attribute ``expires_at`` (as in template.yaml)."""
    return _create_relay_table(aws_client("dynamodb", endpoint_url), name or f"relay-cache-{uuid.uuid4().hex[:8]}")


def _create_relay_table(client: Any, table: str) -> str:
    """Both relay tables have template.yaml's shape: string key ``pk``, TTL attribute ``expires_at``."""
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
    )
    return table


def create_topic_with_queue(endpoint_url: str, topic_name: str) -> tuple[str, str]:
    """An SNS topic with an SQS subscription, so published notifications can be read back.

    Delivery is not raw: each SQS message is SNS's JSON envelope (Subject, Message,
    MessageAttributes), which is what a reader wants to see.
    """
    sns = aws_client("sns", endpoint_url)
    sqs = aws_client("sqs", endpoint_url)
    topic_arn = str(sns.create_topic(Name=topic_name)["TopicArn"])
    queue_url = str(sqs.create_queue(QueueName=f"{topic_name}-subscriber")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


@functools.cache
def _provisioning_client(service: str, endpoint_url: str) -> Any:
    # Creating a client costs ~50 ms; provisioning per test reuses one (nobody hooks events on these).
    return aws_client(service, endpoint_url)


def create_alert_table(endpoint_url: str, name: str | None = None) -> str:
    """The alert state table: key ``pk`` (endpoint id), TTL attribute ``expires_at`` (as in template.yaml)."""
    client = _provisioning_client("dynamodb", endpoint_url)
    return _create_relay_table(client, name or f"relay-alerts-{uuid.uuid4().hex[:8]}")


def put_policy_parameter(endpoint_url: str, name: str, document: Any) -> None:
    """The alert policy as an SSM String parameter (POLICY_PARAMETER_NAME)."""
    client = _provisioning_client("ssm", endpoint_url)
    text = document if isinstance(document, str) else json.dumps(document)
    client.put_parameter(Name=name, Value=text, Type="String", Overwrite=True)


def start_linearizable_moto_server(host: str = "127.0.0.1", *, delay: float = 0.0) -> tuple[LoopbackServer, str]:
    """A moto server that handles one request at a time; returns (server, endpoint URL).

    Real DynamoDB applies each conditional write atomically. moto checks the
    condition and then writes without a lock, so two concurrent writers can both
    "win"; serialising requests restores DynamoDB's guarantee. moto's state is
    process-wide, so this server sees what any other moto server in the process created.
    With ``delay``, every request waits that long first (requests then still overlap):
    AWS slowed down, for time-budget tests.
    """
    import threading
    import time

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class _OneAtATime:
        def __init__(self, app: Any) -> None:
            self._app = app
            self._lock = threading.Lock()

        def __call__(self, environ: Any, start_response: Any) -> Any:
            if delay:
                time.sleep(delay)
            with self._lock:
                return list(self._app(environ, start_response))

    app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
    wsgi = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    server = LoopbackServer(server=wsgi, host=host, name="linearizable-moto").start()
    return server, server.url
