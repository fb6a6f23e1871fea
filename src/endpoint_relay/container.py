"""Builds the relay's long-lived objects once per container, from validated settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.adapters.shared_cache import DynamoSharedCache
from endpoint_relay.adapters.together import ClientConfig, TogetherClient
from endpoint_relay.core.cache import CachePolicy, LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.observability import record_upstream_call
from endpoint_relay.settings import Settings


@dataclass(frozen=True, slots=True)
class Relay:
    settings: Settings
    secrets: SecretStore
    together: TogetherClient
    lookups: LookupService


@cache
def get() -> Relay:
    return build(Settings.from_env())


def build(settings: Settings) -> Relay:
    secrets = SecretStore(settings.secret_id, max_age=settings.secret_max_age)
    together = TogetherClient(
        ClientConfig(
            base_url=settings.together_base_url,
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            max_retries=settings.upstream_max_retries,
            max_retry_after=settings.upstream_max_retry_after,
            max_response_bytes=settings.upstream_max_response_bytes,
        ),
        observer=record_upstream_call,
    )
    shared = DynamoSharedCache(settings.cache_table_name) if settings.cache_table_name else None
    lookups = LookupService(
        upstream=together,
        secrets=secrets,
        policy=CachePolicy(
            fresh_ttl=settings.cache_ttl,
            stale_window=settings.cache_stale_window,
            negative_ttl=settings.cache_negative_ttl,
        ),
        local=LocalCache(),
        shared=shared,
    )
    return Relay(settings=settings, secrets=secrets, together=together, lookups=lookups)


def reset() -> None:
    """Drop everything built from the environment (tests change it between cases)."""
    get.cache_clear()
    aws_clients.reset()
