"""placeholder until the split lands: the one handler still serves every trigger."""

from endpoint_relay.handler import lambda_handler

__all__ = ["lambda_handler"]
