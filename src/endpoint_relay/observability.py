"""The one place that owns the logger, the metrics and the (optional) tracer.

Service name, namespace and log level come from the standard ``POWERTOOLS_*``
variables set in template.yaml.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from endpoint_relay.settings import SettingsError

logger = Logger()
metrics = Metrics()

# Modules below endpoint_relay log through the standard library (the core has no
# Powertools import); route their records through the same JSON handler.
logging.getLogger("endpoint_relay")
copy_config_to_registered_loggers(source_logger=logger, include={"endpoint_relay"})

# /healthz and refused requests legitimately record no metrics.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name: str, value: float, **dimensions: str) -> None:
    """A count with its own dimensions, flushed at once (the shared metric set has one dimension set)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=metrics.namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


def record_upstream_call(latency_ms: float, error_kind: str | None) -> None:
    metrics.add_metric(name="UpstreamLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    if error_kind is None:
        return
    count("UpstreamErrors")
    with single_metric(name="UpstreamErrors", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as by_kind:
        by_kind.add_dimension(name="kind", value=error_kind)


def traced(handler: Handler, *, enabled: bool) -> Handler:
    """Wrap the handler with the X-Ray SDK only when asked to.

    Importing the SDK costs a few hundred milliseconds of cold start. Lambda's
    active tracing already records each invocation without it; the SDK only adds
    subsegments for boto3 calls.
    """
    if not enabled:
        return handler
    if importlib.util.find_spec("aws_xray_sdk") is None:
        # Not a runtime dependency on purpose; fail the cold start with the fix, not an ImportError.
        raise SettingsError("XRAY_SDK_ENABLED=true needs the aws-xray-sdk package in the function's requirements")
    from aws_lambda_powertools import Tracer  # deferred: pulls in aws_xray_sdk

    # botocore only: patching urllib3 would record every call with its exceptions, whose messages carry
    # request URLs (a MaxRetryError names the webhook URL, a credential).
    tracer = Tracer(patch_modules=["botocore"])
    # Never attach responses or exceptions to traces: they could carry upstream data.
    wrapped: Handler = tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)
    return wrapped
