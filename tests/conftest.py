"""Shared fixtures. Real servers start once per test session, only when a test asks for them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Protocol, TypeVar

import pytest

from devstack.livekit_sip import LiveKitSip
from devstack.services import LiveKitServer, PostgresServer, RedisServer

if TYPE_CHECKING:
    from devstack.local_call import LocalStack


class _Server(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Server)


def _running(server: _S) -> Iterator[_S]:
    """Start a server for a fixture's lifetime; always stopped, even when a test fails."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server for the session (Debian's binary, a free port)."""
    yield from _running(RedisServer())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster for the session (initdb'd into a temporary directory)."""
    yield from _running(PostgresServer())


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A new, empty database for this test; returns its URL."""
    return postgres_server.create_database(f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session Redis, emptied for this test; returns its URL."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server.url


# ---- telephony (sip/): livekit-server + livekit-sip on their own Redis -----------------------
# livekit-sip reaches livekit-server only through Redis, and tests elsewhere flush the shared
# session Redis between tests, so the SIP stack gets a private Redis of its own.

@pytest.fixture(scope="session")
def sip_stack_redis() -> Iterator[RedisServer]:
    yield from _running(RedisServer())


@pytest.fixture(scope="session")
def sip_livekit_server(sip_stack_redis: RedisServer) -> Iterator[LiveKitServer]:
    """livekit-server (dev keys devkey/secret) with Redis, so its SIP API is available."""
    yield from _running(
        LiveKitServer.on_free_ports(redis_address=f"127.0.0.1:{sip_stack_redis.port}"))


@pytest.fixture(scope="session")
def livekit_sip(sip_stack_redis: RedisServer,
                sip_livekit_server: LiveKitServer) -> Iterator[LiveKitSip]:
    """livekit-sip on loopback, bridged to `sip_livekit_server`; `.sip_uri` takes INVITEs."""
    yield from _running(LiveKitSip(
        redis_address=f"127.0.0.1:{sip_stack_redis.port}", ws_url=sip_livekit_server.url,
        api_key=sip_livekit_server.api_key, api_secret=sip_livekit_server.api_secret))


# ---- the call spine: the whole local stack with a real worker process ------------------------
# Its own Redis (other tests flush the shared one) and its own database on the session Postgres.

@pytest.fixture(scope="session")
async def call_stack(postgres_server: PostgresServer) -> AsyncIterator[LocalStack]:
    from devstack.local_call import LocalStack
    from realtime_simulator import parse_scenario

    placeholder = parse_scenario("name: placeholder\nturns:\n  - hangup: true\n")
    database_url = postgres_server.create_database(f"calls_{uuid.uuid4().hex[:12]}")
    stack = LocalStack(scenario=placeholder, database_url=database_url, idle_processes=2)
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()
