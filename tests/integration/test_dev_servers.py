"""The local servers a test or an eval starts leave nothing behind: their temporary folders
hold test calls' records and, for livekit-server, the API secret. Redis and livekit's go at
stop; a Postgres cluster's at exit, since a stopped cluster may be started again."""

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
    for server in (livekit, redis):
        server.stop()
    # a stopped cluster starts again with its data (the storage-outage tests do): it goes at
    # exit, or when discarded
    postgres.stop()
    assert postgres.data_dir.exists()
    postgres._discard()
    assert [path for path in folders if path.exists()] == []


def test_a_stopped_postgres_starts_again_with_its_data() -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        postgres.create_database("kept")
        postgres.stop()
        postgres.start()
        assert postgres._psql("select 1 from pg_database where datname = 'kept'") == "1"
    finally:
        postgres._discard()


def test_a_folder_given_to_a_server_is_kept(tmp_path: Path) -> None:
    redis = RedisServer(data_dir=tmp_path / "redis")
    redis.start()
    redis.stop()
    assert (tmp_path / "redis").is_dir()
