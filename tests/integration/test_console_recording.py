"""The call page's recording over plain HTTP (the ASGI app in-process, real Postgres, a real
recording made by CallAudioRecorder in a folder or in S3 on versitygw): session and role,
byte ranges, hostile ids and URIs, and "Add to eval bank" with its CSRF and refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devstack.object_store import VersityGateway
from recording import CallAudioRecorder, LocalFolderStore, RecordingStore
from recording.config import recording_store
from recording.s3_store import S3RecordingStore
from recording.timeline import CALLER, HEARD
from state.postgres_record import CallBatch, EventRow, PostgresRecordStore, create_pool
from state.review import approve_outcome
from tests.console_support import add_user, console_client, csrf_from, seed_call, sign_in

from ..unit.test_recording import FakeClock, tone

pytestmark = pytest.mark.integration

PASSWD_HEAD = Path("/etc/passwd").read_bytes()[:16]
AUDIO = {"accept": "audio/webm,audio/ogg,audio/*;q=0.9,*/*;q=0.5"}


async def _record_part(store: RecordingStore, call_id: str) -> str:
    """One part as the worker records it: the agent speaks 0-1 s, the caller 2-3 s."""
    clock = FakeClock()
    recorder = CallAudioRecorder(store, call_id, clock=clock)
    uri = await recorder.start()
    for channel, source, freq in ((HEARD, "agent", 300.0), (CALLER, "caller", 500.0)):
        for _ in range(100):
            clock.now += 0.01
            recorder.feed(channel, source, tone(0.01, freq))
        clock.now += 1.0
    closed = await recorder.aclose()
    assert closed == uri
    return uri


async def _link_parts(database_url: str, call_id: str, uris: list[str],
                      started: datetime) -> None:
    """The worker's `recording` events: each part's URI and wall-clock start."""
    pool = await create_pool(database_url, max_size=1)
    try:
        await PostgresRecordStore(pool).write_batch(CallBatch(call=None, call_id=call_id, events=[
            EventRow(10 + i, "recording", {"stage": "started", "part": i + 1, "uri": uri,
                                           "started_at": (started + timedelta(seconds=4 * i)
                                                          ).isoformat()},
                     started + timedelta(seconds=4 * i)) for i, uri in enumerate(uris)]))
    finally:
        await pool.close()


async def _approve(database_url: str, call_id: str) -> None:
    pool = await create_pool(database_url, max_size=1)
    try:
        await approve_outcome(PostgresRecordStore(pool), call_id, by="olive")
    finally:
        await pool.close()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "recordings"
    bank = tmp_path / "bank"
    bank.mkdir()
    monkeypatch.setenv("INTAKE_RECORDING_STORE", "folder")
    monkeypatch.setenv("INTAKE_RECORDING_DIR", str(root))
    monkeypatch.setenv("INTAKE_EVAL_BANK", str(bank))
    return root


@pytest.fixture
async def recorded(database_url: str, folder: Path) -> dict[str, object]:
    """A stored call with a two-part recording (a worker was replaced), one without, and
    one whose record points at a file outside the recording folder."""
    started = datetime.now(UTC) - timedelta(minutes=5)
    ids = {k: uuid.uuid4().hex for k in ("two_parts", "silent", "hostile")}
    for call_id in ids.values():
        await seed_call(database_url, call_id, started=started)
    store = LocalFolderStore(folder)
    uris = [await _record_part(store, ids["two_parts"]) for _ in range(2)]
    await _link_parts(database_url, ids["two_parts"], uris, started)
    await _link_parts(database_url, ids["hostile"], ["file:///etc/passwd"], started)
    for name, role in (("olive", "operator"), ("sam", "supervisor")):
        await add_user(database_url, name, role)
    return {**ids, "files": [Path(u.removeprefix("file://")) for u in uris]}


async def _signed_in(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, "olive")).status_code == 303


async def _assert_ranges(client: httpx.AsyncClient, url: str, data: bytes) -> None:
    size = len(data)
    whole = await client.get(url, headers=AUDIO)
    assert whole.status_code == 200
    assert whole.content == data and whole.content[:4] == b"OggS"
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "audio/ogg"
    first = await client.get(url, headers={**AUDIO, "range": "bytes=0-3"})
    assert first.status_code == 206 and first.content == b"OggS"
    assert first.headers["content-range"] == f"bytes 0-3/{size}"
    assert first.headers["content-length"] == "4"
    middle = await client.get(url, headers={**AUDIO, "range": f"bytes=100-{size + 50}"})
    assert middle.status_code == 206 and middle.content == data[100:]
    assert middle.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert middle.headers["content-length"] == str(size - 100)
    tail = await client.get(url, headers={**AUDIO, "range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    for bad in (f"bytes={size}-", "bytes=9-3", "bytes=0-1,5-9", "items=0-3", "bytes=x-"):
        refused = await client.get(url, headers={**AUDIO, "range": bad})
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert b"OggS" not in refused.content


async def test_the_recording_needs_a_session(database_url: str,
                                             recorded: dict[str, object]) -> None:
    url = f"/calls/{recorded['two_parts']}/recording/1"
    async with console_client(database_url) as client:
        anonymous = await client.get(url, headers=AUDIO)
        assert anonymous.status_code == 401 and b"OggS" not in anonymous.content
        ranged = await client.get(url, headers={**AUDIO, "range": "bytes=0-3"})
        assert ranged.status_code == 401
        page = await client.get(url)  # a browser tab is sent to sign in
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        await _signed_in(client)
        assert (await client.get(url, headers=AUDIO)).status_code == 200
        await client.post("/logout", data={"csrf_token": csrf_from(
            (await client.get(f"/calls/{recorded['two_parts']}")).text)})
        assert (await client.get(url, headers=AUDIO)).status_code == 401


async def test_both_parts_serve_byte_ranges(database_url: str,
                                            recorded: dict[str, object]) -> None:
    files = recorded["files"]
    assert isinstance(files, list)
    async with console_client(database_url) as client:
        await _signed_in(client)
        for part, path in enumerate(files, start=1):
            await _assert_ranges(client, f"/calls/{recorded['two_parts']}/recording/{part}",
                                 path.read_bytes())


async def test_the_call_page_shows_the_player(database_url: str,
                                              recorded: dict[str, object]) -> None:
    async with console_client(database_url) as client:
        await _signed_in(client)
        page = await client.get(f"/calls/{recorded['two_parts']}")
        assert page.status_code == 200
        assert "media-src 'self'" in page.headers["content-security-policy"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        html = page.text
        assert f'src="/calls/{recorded["two_parts"]}/recording/1"' in html
        assert 'data-parts="1,2"' in html and "recorded in 2 parts" in html
        assert '<script src="/static/recording_player.js" defer></script>' in html
        # the agent's turn ends 1 s after the call started, the caller's 4 s
        assert 'data-part="1" data-start="0.0" data-end="1.0"' in html
        assert 'data-part="2" data-start="0.0" data-end="0.0"' in html  # part 2 starts at 4 s
        silent = await client.get(f"/calls/{recorded['silent']}")
        assert "No recording for this call." in silent.text
        assert "<audio" not in silent.text and "<script" not in silent.text
        script = await client.get("/static/recording_player.js")
        assert script.status_code == 200 and "createChannelSplitter" in script.text


async def test_hostile_ids_and_uris_get_404_and_no_file(database_url: str,
                                                       recorded: dict[str, object]) -> None:
    call_id = recorded["two_parts"]
    async with console_client(database_url) as client:
        await _signed_in(client)
        for path in (f"/calls/{call_id}/recording/3", f"/calls/{call_id}/recording/0",
                     f"/calls/{call_id}/recording/-1", f"/calls/{call_id}/recording/1x",
                     f"/calls/{call_id}/recording/..%2F..%2F..%2Fetc%2Fpasswd",
                     f"/calls/{call_id}/recording/%2e%2e",
                     "/calls/..%2F..%2F..%2Fetc%2Fpasswd/recording/1",
                     "/calls/%2e%2e%2f%2e%2e/recording/1",
                     f"/calls/{'a' * 65}/recording/1", f"/calls/{uuid.uuid4().hex}/recording/1",
                     f"/calls/{recorded['silent']}/recording/1",
                     f"/calls/{recorded['hostile']}/recording/1"):
            response = await client.get(path, headers=AUDIO)
            assert response.status_code == 404, path
            assert PASSWD_HEAD not in response.content and b"OggS" not in response.content, path


async def test_add_to_eval_bank_needs_csrf_approval_and_a_recording(
        database_url: str, recorded: dict[str, object], tmp_path: Path) -> None:
    call_id = str(recorded["two_parts"])
    action = f"/calls/{call_id}/eval-case"
    bank = tmp_path / "bank"
    async with console_client(database_url) as client:
        assert (await client.post(action, data={})).status_code == 401
        await _signed_in(client)
        page = await client.get(f"/calls/{call_id}")
        token = csrf_from(page.text)
        assert "Add to eval bank" not in page.text  # not approved yet
        assert (await client.post(action, data={})).status_code == 403
        assert (await client.post(action, data={"csrf_token": "forged"})).status_code == 403
        assert not list(bank.iterdir())
        early = await client.post(action, data={"csrf_token": token})
        assert early.status_code == 409 and "Approve the call first" in early.text
        await _approve(database_url, call_id)
        await _approve(database_url, str(recorded["silent"]))
        assert "Add to eval bank" in (await client.get(f"/calls/{call_id}")).text
        silent = await client.post(f"/calls/{recorded['silent']}/eval-case",
                                   data={"csrf_token": token})
        assert silent.status_code == 409 and "has no recording" in silent.text
        assert not list(bank.iterdir())

        added = await client.post(action, data={"csrf_token": token})
        assert added.status_code == 303
        assert added.headers["location"] == f"/calls/{call_id}?notice=eval_added"
        shown = await client.get(added.headers["location"])
        assert f"Added to the eval bank as the case call-{call_id}" in shown.text
        assert "Add to eval bank</button>" not in shown.text
        case = bank / f"call-{call_id}.yaml"
        text = case.read_text()
        assert "caller: Hi there." in text and "expect:" in text
        # the caller's turn got its recorded audio
        assert (bank / "audio" / f"call-{call_id}" / "turn-01.wav").stat().st_size > 10_000

        again = await client.post(action, data={"csrf_token": token})
        assert again.status_code == 409 and "in the eval bank already" in again.text
        assert case.read_text() == text
        missing = await client.post(f"/calls/{uuid.uuid4().hex}/eval-case",
                                    data={"csrf_token": token})
        assert missing.status_code == 404


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VersityGateway]:
    server = VersityGateway(data_dir=tmp_path_factory.mktemp("s3") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_an_s3_recording_is_streamed_through_the_console(
        database_url: str, s3_server: VersityGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"INTAKE_RECORDING_STORE": "s3", "INTAKE_S3_BUCKET": "console-recordings",
           "INTAKE_S3_ENDPOINT_URL": s3_server.endpoint_url, "INTAKE_S3_PREFIX": "calls/",
           "INTAKE_S3_ACCESS_KEY_ID": s3_server.access_key,
           "INTAKE_S3_SECRET_ACCESS_KEY": s3_server.secret_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = recording_store(env)
    assert isinstance(store, S3RecordingStore)
    call_id = uuid.uuid4().hex
    started = datetime.now(UTC) - timedelta(minutes=5)
    await seed_call(database_url, call_id, started=started)
    await add_user(database_url, "olive", "operator")
    try:
        await store.ensure_bucket()
        uri = await _record_part(store, call_id)
        data = await store.read(uri)
    finally:
        await store.aclose()
    assert uri.startswith("s3://console-recordings/calls/")
    await _link_parts(database_url, call_id, [uri], started)
    async with console_client(database_url) as client:
        await _signed_in(client)
        await _assert_ranges(client, f"/calls/{call_id}/recording/1", data)
        html = (await client.get(f"/calls/{call_id}")).text
        # the page names only our own endpoint: no bucket, no signed URL
        assert s3_server.endpoint_url not in html and "X-Amz-" not in html
        assert "console-recordings" not in html
