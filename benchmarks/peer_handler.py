"""The peer: the Lambda a competent user would write for the same lookup, without the relay.

The official Together SDK 2.x for the call, boto3 for the key in Secrets Manager
(read once per container), and Powertools Logger, Metrics and Tracer, wired the way
Powertools' own examples wire them. Nothing is slowed down on purpose; nothing the
relay does beyond this (caching, caller tokens, retries budget) is asked of it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from together import NotFoundError, Together

logger = Logger()
metrics = Metrics()
tracer = Tracer()

secrets_manager = boto3.client("secretsmanager")
_together: Together | None = None


@tracer.capture_method
def together_client() -> Together:
    global _together
    if _together is None:
        secret = secrets_manager.get_secret_value(SecretId=os.environ["TOGETHER_SECRET_ID"])
        api_key = json.loads(secret["SecretString"])["together_api_key"]
        _together = Together(api_key=api_key, base_url=os.environ.get("TOGETHER_BASE_URL"))
    return _together


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    endpoint_id = event["pathParameters"]["endpointId"]
    try:
        endpoint = together_client().endpoints.retrieve(endpoint_id)
    except NotFoundError:
        return {"statusCode": 404, "body": json.dumps({"error": {"message": "endpoint not found"}})}
    metrics.add_metric(name="Lookups", unit=MetricUnit.Count, value=1)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": endpoint.to_json(indent=None),
    }
