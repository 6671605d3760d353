"""Shared fixtures. Real servers start once per test session, only when a test asks for them."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import pytest
import pytest_asyncio
from pydantic import SecretStr

from devstack.livekit_sip import LiveKitSip
from devstack.services import LiveKitServer, PostgresServer, RedisServer, remove_temporary
from sip.config import SipSettings
from tests.integration.sip_stack import (
    SIP_AGENT_CALLED,
    SIP_AGENT_RESOURCE,
    SIP_BOARD_RING_S,
    SIP_TRANSFER_TIMEOUT_S,
    SipAgentStack,
)
from tests.task_leaks import unfinished_tasks

if TYPE_CHECKING:
    from devstack.local_call import LocalStack

# a developer's .env must not change what a test (or an `intake` it starts) sees
os.environ["INTAKE_ENV_FILE"] = ""


# ---- every test: no asyncio task may outlive it -----------------------------------------------

LEAK_GRACE_S = 2.0


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def no_leaked_tasks(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running: every background task needs an owner
    that cancels it. Tasks of session fixtures started before the test are not its own."""
    before = asyncio.all_tasks()
    yield
    leaked = await unfinished_tasks(before, LEAK_GRACE_S)
    if leaked:
        names = sorted(t.get_name() + ": " + repr(t.get_coro()) for t in leaked)
        for task in leaked:
            task.cancel()
        pytest.fail(f"{request.node.nodeid} leaked asyncio tasks: {names}", pytrace=False)


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
    """livekit-server (the dev key pair) with Redis, so its SIP API is available."""
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
    # test calls are recorded like any call; their audio stays in a folder of this session
    recordings = tempfile.mkdtemp(prefix="intake-test-recordings-")
    stack = LocalStack(scenario=placeholder, database_url=database_url, idle_processes=2,
                       worker_env={"INTAKE_RECORDING_DIR": recordings})
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()
        remove_temporary(Path(recordings))


# ---- a real SIP call through our worker: LocalStack + livekit-sip + provisioned trunks --------

@pytest.fixture(scope="session")
async def sip_agent_stack(postgres_server: PostgresServer) -> AsyncIterator[SipAgentStack]:
    """LocalStack (its own Redis, livekit-server, simulator, worker; the session Postgres) +
    livekit-sip on that Redis, with an inbound trunk and dispatch rule for the stack's agent
    name and an outbound trunk to `phone_port` (warm transfers, outbound calls)."""
    from ruamel.yaml import YAML

    from agent.config import DEFAULT_PLAYBOOK
    from devstack.local_call import LocalStack
    from devstack.paths import project_root
    from realtime_simulator import load_scenario
    from sip.config import LiveKitCredentials, OutboundTrunkSettings
    from sip.livekit_provisioning import plan_livekit
    from sip.livekit_sip_api import LiveKitSipControl
    from sip.plan import apply_plan
    from testbed.sipp.phone import free_udp_port

    scenario = load_scenario(project_root() / "scenarios" / "sip_agent_call.yaml")
    # logs of its own: other stacks on this machine write to the default log folder
    log_dir = Path(tempfile.mkdtemp(prefix="intake-sip-agent-"))
    phone_port = free_udp_port()
    database_url = postgres_server.create_database(f"sipcalls_{uuid.uuid4().hex[:12]}")
    # the example playbook, with a transfer and a board ring that give up sooner (tests wait)
    yaml = YAML(typ="safe")
    playbook = yaml.load(DEFAULT_PLAYBOOK.read_text())
    playbook["transfer"]["answer_timeout_seconds"] = SIP_TRANSFER_TIMEOUT_S
    playbook["transfer"]["board_ring_seconds"] = SIP_BOARD_RING_S
    # outbound tests dial whenever they run: the business calls around the clock, and each
    # test picks a lead whose local time is inside 8:00-21:00 (sip_stack.callable_lead)
    playbook["outbound"]["calling_hours"] = {day: "00:00-23:59" for day in (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
    # the copy lives elsewhere: its example files are named from the original's folder
    playbook["escalation_examples"] = [str((DEFAULT_PLAYBOOK.parent / entry).resolve())
                                       for entry in playbook.get("escalation_examples", [])]
    playbook_path = log_dir / "playbook.yaml"
    with playbook_path.open("w") as fh:
        yaml.dump(playbook, fh)
    stack = LocalStack(scenario=scenario, idle_processes=1, log_dir=log_dir,
                       database_url=database_url, playbook=playbook_path,
                       worker_env={"SIP_RESOURCE_NAME": SIP_AGENT_RESOURCE,
                                   "INTAKE_RECORDING_DIR": str(log_dir / "recordings")})
    sip: LiveKitSip | None = None
    try:
        await stack.start()
        assert stack.livekit is not None and stack.redis_url is not None
        redis_address = stack.redis_url.split("//", 1)[1].split("/", 1)[0]
        sip = LiveKitSip(redis_address=redis_address, ws_url=stack.livekit.url,
                         api_key=stack.livekit.api_key, api_secret=stack.livekit.api_secret,
                         log_path=log_dir / "livekit-sip.log")
        await asyncio.to_thread(sip.start)
        settings = SipSettings(
            phone_numbers=(SIP_AGENT_CALLED,),
            allowed_addresses=("127.0.0.1",),
            resource_name=SIP_AGENT_RESOURCE,
            # what INTAKE_AGENT_NAME does for `intake provision`: the rule dispatches our worker
            agent_name=stack.agent_name,
            livekit=LiveKitCredentials(url=stack.livekit.http_url,
                                       api_key=stack.livekit.api_key,
                                       api_secret=SecretStr(stack.livekit.api_secret)),
            outbound=OutboundTrunkSettings(address=f"127.0.0.1:{phone_port}", transport="udp",
                                           numbers=(SIP_AGENT_CALLED,)),
        )
        async with LiveKitSipControl(settings.livekit) as control:  # type: ignore[arg-type]
            await apply_plan(await plan_livekit(control, settings))
        yield SipAgentStack(stack=stack, sip=sip, settings=settings, scenario=scenario,
                            phone_port=phone_port)
    finally:
        if sip is not None:
            await asyncio.to_thread(sip.stop)
        await stack.stop()
