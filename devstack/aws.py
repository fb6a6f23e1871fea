"""Provision, on moto server, the resources template.yaml defines, with the same shapes.

Secret layout, table keys and TTL attributes match the template, so the code
under test cannot tell moto from AWS.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

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
    client = aws_client("dynamodb", endpoint_url)
    table = name or f"relay-cache-{uuid.uuid4().hex[:8]}"
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
