"""The S3 recording store against a real S3-compatible server (versitygw from bootstrap):
parts, durable syncs while a call goes, ranges, deletion, and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.object_store import VersityGateway
from recording import CallAudioRecorder, RecordingStoreError
from recording.config import recording_store
from recording.s3_store import S3RecordingStore, S3Settings
from recording.timeline import CALLER

from ..unit.test_recording import FakeClock, decode, tone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VersityGateway]:
    server = VersityGateway(data_dir=tmp_path_factory.mktemp("s3") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def store(s3_server: VersityGateway, tmp_path: Path) -> AsyncIterator[S3RecordingStore]:
    env = {"INTAKE_RECORDING_STORE": "s3", "INTAKE_S3_BUCKET": "recordings",
           "INTAKE_S3_ENDPOINT_URL": s3_server.endpoint_url, "INTAKE_S3_PREFIX": "calls",
           "INTAKE_S3_ACCESS_KEY_ID": s3_server.access_key,
           "INTAKE_S3_SECRET_ACCESS_KEY": s3_server.secret_key}
    built = recording_store(env)
    assert isinstance(built, S3RecordingStore)
    await built.ensure_bucket()
    try:
        yield built
    finally:
        await built.aclose()


async def test_a_recording_is_synced_while_the_call_goes_and_complete_at_close(
        store: S3RecordingStore, s3_server: VersityGateway, tmp_path: Path) -> None:
    clock = FakeClock()
    recorder = CallAudioRecorder(store, "s3call", clock=clock, sync_interval_s=0.0)
    uri = await recorder.start()
    assert uri == "s3://recordings/calls/s3call/part-001.ogg"
    for _ in range(200):
        clock.now += 0.01
        recorder.feed(CALLER, "caller", tone(0.01))
    # the encoder runs every quarter second; give it a few rounds to upload a snapshot
    clock.now += 0.5
    await asyncio.sleep(0.8)
    snapshot = await store.read(uri)
    assert snapshot[:4] == b"OggS"  # a playable prefix is already in the bucket
    await recorder.aclose()
    data = await store.read(uri)
    local = tmp_path / "got.ogg"
    local.write_bytes(data)
    audio = decode(local)
    assert audio.shape[1] / 48000 >= 2.0
    # the object is a plain file in versitygw's folder: the same bytes
    assert s3_server.data_dir is not None
    assert (s3_server.data_dir / "recordings" / "calls" / "s3call" / "part-001.ogg"
            ).read_bytes() == data
    assert await store.read(uri, 0, 3) == b"OggS"


async def test_parts_and_deletion(store: S3RecordingStore) -> None:
    first = await store.open_part("twoparts")
    second = await store.open_part("twoparts")
    assert (first.part, second.part) == (1, 2)
    first.path.write_bytes(b"one")
    await first.close()
    await second.close()
    assert not first.path.exists()  # the spool is gone once uploaded
    assert await store.parts("twoparts") == [first.uri, second.uri]
    assert await store.delete_call("twoparts") == 2
    assert await store.parts("twoparts") == []
    with pytest.raises(RecordingStoreError, match="no such recording"):
        await store.read(first.uri)


async def test_a_wrong_secret_is_refused_without_leaking_it(s3_server: VersityGateway) -> None:
    bad = S3RecordingStore(S3Settings(bucket="recordings", endpoint_url=s3_server.endpoint_url,
                                      region="us-east-1", access_key_id=s3_server.access_key,
                                      secret_access_key="wrong-secret"))
    try:
        with pytest.raises(RecordingStoreError) as caught:
            await bad.parts("anycall")
        assert "SignatureDoesNotMatch" in str(caught.value)
        assert "wrong-secret" not in str(caught.value)
    finally:
        await bad.aclose()
