"""The local servers a test or an eval starts leave nothing behind when stopped: their
temporary folders hold test calls' records and, for livekit-server, the API secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.services import LiveKitServer, PostgresServer, RedisServer

pytestmark = pytest.mark.integration


def test_stopped_servers_remove_their_temporary_folders() -> None:
    redis, postgres = RedisServer(), PostgresServer()
    livekit = LiveKitServer.on_free_ports()
    for server in (redis, postgres, livekit):
        server.start()
    assert redis.data_dir is not None and postgres.data_dir is not None
    folders = [redis.data_dir, postgres.data_dir,
               postgres.data_dir.parent / f"{postgres.data_dir.name}.log"]
    assert livekit._workdir is not None
    folders.append(livekit._workdir)
    assert all(path.exists() for path in folders)
    for server in (livekit, postgres, redis):
        server.stop()
    assert [path for path in folders if path.exists()] == []


def test_a_folder_given_to_a_server_is_kept(tmp_path: Path) -> None:
    redis = RedisServer(data_dir=tmp_path / "redis")
    redis.start()
    redis.stop()
    assert (tmp_path / "redis").is_dir()
