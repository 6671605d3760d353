"""The call recorder on its own: stereo placement on one clock, Ogg written as it goes (a
killed process leaves a playable file), parts, ranges and deletion in the folder store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from recording import CallAudioRecorder, LocalFolderStore, RecordingStoreError
from recording.timeline import CALLER, HEARD, StereoTimeline

pytestmark = pytest.mark.unit

RATE = 48000


def tone(seconds: float, freq: float = 440.0, level: float = 0.3) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype("<i2").tobytes()


def decode(path: Path) -> np.ndarray:
    """(2, n) float32 of an Ogg file, as far as it decodes."""
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray().reshape(2, -1) if frame.format.is_planar
                          else frame.to_ndarray().reshape(-1, 2).T)
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)


def rms(block: np.ndarray) -> float:
    return float(np.sqrt(np.mean(block.astype(np.float64) ** 2))) if block.size else 0.0


def test_timeline_lays_one_source_end_to_end_and_sums_sources() -> None:
    timeline = StereoTimeline(RATE)
    ten_ms = np.full(480, 1000, dtype="<i2").tobytes()
    # arrival jitter of a few ms must not open gaps
    for i, jitter in enumerate([0.0, 0.004, -0.003, 0.006]):
        timeline.place(CALLER, "mic", ten_ms, 0.01 * (i + 1) + jitter)
    timeline.place(HEARD, "agent", ten_ms, 0.02)
    timeline.place(HEARD, "hold", ten_ms, 0.02)
    block = timeline.take(round(0.05 * RATE))
    left = block[CALLER]
    assert np.all(left[:1920] > 0) and np.all(left[1920:] == 0)
    right = block[HEARD]
    assert right[500] == pytest.approx(2000 / 32768, rel=1e-3)  # two sources summed
    # a frame far from where its source ended starts a new run at its own time
    timeline.place(CALLER, "mic", ten_ms, 1.0)
    later = timeline.take(RATE)
    assert np.all(later[CALLER][: round(0.94 * RATE) - 2400] == 0)
    # audio behind the cursor is dropped and counted, never written twice
    timeline.place(CALLER, "late", ten_ms, 0.5)
    assert timeline.dropped_samples == 480


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_caller_left_heard_right_time_aligned(tmp_path: Path) -> None:
    clock = FakeClock()
    store = LocalFolderStore(tmp_path / "recordings")
    recorder = CallAudioRecorder(store, "call-1", clock=clock)
    uri = await recorder.start()
    assert uri.startswith("file://") and uri.endswith("call-1/part-001.ogg")
    # 0-1 s the agent speaks (right); 1.5-2.5 s the caller (left)
    for _ in range(100):
        clock.now += 0.01
        recorder.feed(HEARD, "agent", tone(0.01, 300)[: 480 * 2])
    clock.now += 0.5
    for _ in range(100):
        clock.now += 0.01
        recorder.feed(CALLER, "caller", tone(0.01, 500)[: 480 * 2])
    clock.now += 0.5
    assert await recorder.aclose() == uri
    audio = decode(Path(uri.removeprefix("file://")))
    assert audio.shape[0] == 2 and audio.shape[1] / RATE == pytest.approx(3.0, abs=0.1)

    def window(channel: int, start: float, end: float) -> float:
        return rms(audio[channel, round(start * RATE): round(end * RATE)])

    assert window(HEARD, 0.1, 0.9) > 0.1 and window(CALLER, 0.1, 0.9) < 0.01
    assert window(CALLER, 1.6, 2.4) > 0.1 and window(HEARD, 1.6, 2.4) < 0.01
    assert window(CALLER, 1.1, 1.4) < 0.01 and window(HEARD, 1.1, 1.4) < 0.01


def test_a_killed_writer_leaves_a_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.ogg"
    script = textwrap.dedent(f"""
        import os, numpy as np
        from recording.ogg_writer import StereoOggWriter
        writer = StereoOggWriter(__import__("pathlib").Path({str(path)!r}))
        for i in range(30):  # 3 s in 100 ms blocks, then die without closing
            t = np.arange(4800) / 48000
            writer.write(np.stack([np.sin(2 * np.pi * 440 * t), np.zeros(4800)]).astype("f4"))
        os._exit(9)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2],
                            capture_output=True, check=False)
    assert result.returncode == 9, result.stderr.decode()
    audio = decode(path)
    # everything up to the last full Ogg page (200 ms) survives
    assert audio.shape[1] / RATE >= 2.6
    assert rms(audio[CALLER]) > 0.1 and rms(audio[HEARD]) < 0.01


async def test_folder_store_parts_ranges_and_deletion(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path)
    first = await store.open_part("abc")
    second = await store.open_part("abc")  # a replacement agent adds a part
    assert (first.part, second.part) == (1, 2)
    first.path.write_bytes(b"0123456789")
    await first.close()
    assert await store.parts("abc") == [first.uri, second.uri]
    assert await store.read(first.uri) == b"0123456789"
    assert await store.read(first.uri, 2, 5) == b"2345"
    with pytest.raises(RecordingStoreError):
        await store.read((tmp_path.parent / "elsewhere.ogg").as_uri())
    with pytest.raises(ValueError):
        await store.open_part("../escape")
    assert await store.delete_call("abc") == 2
    assert await store.parts("abc") == []
    with pytest.raises(RecordingStoreError):
        await store.read(first.uri)


async def test_closing_while_a_write_is_in_its_thread_never_encodes_twice_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Opus encoder is not thread-safe: the final write must wait for one in flight."""
    import asyncio
    import threading
    import time as real_time

    from recording.ogg_writer import StereoOggWriter

    active = 0
    overlaps = 0
    guard = threading.Lock()
    writing = threading.Event()
    original = StereoOggWriter.write

    def slow_write(self: StereoOggWriter, block: np.ndarray) -> None:
        nonlocal active, overlaps
        with guard:
            active += 1
            overlaps += active > 1
        writing.set()
        real_time.sleep(0.3)
        original(self, block)
        with guard:
            active -= 1

    monkeypatch.setattr(StereoOggWriter, "write", slow_write)
    clock = FakeClock()
    recorder = CallAudioRecorder(LocalFolderStore(tmp_path), "racecall", clock=clock)
    await recorder.start()
    clock.now += 1.0
    recorder.feed(CALLER, "caller", tone(1.0))
    while not writing.is_set():  # noqa: ASYNC110  (a thread's event: nothing to await)
        await asyncio.sleep(0.01)
    uri = await recorder.aclose()  # lands while the encoder's write is in its thread
    assert overlaps == 0
    assert uri is not None and decode(Path(uri.removeprefix("file://"))).shape[1] > 0


def _log_spectral_distance_db(source: np.ndarray, decoded: np.ndarray) -> float:
    """Mean log-spectral distance up to 8 kHz over the louder half of 20 ms frames."""
    size = RATE // 50
    window = np.hanning(size)

    def spectrum(x: np.ndarray) -> np.ndarray:
        frames = [x[i:i + size] * window for i in range(0, x.size - size, size // 2)]
        return np.abs(np.fft.rfft(np.array(frames), axis=1))[:, 1:160]

    want, got = spectrum(source), spectrum(decoded)
    distance = np.sqrt(np.mean((20 * np.log10(want + 1e-4) - 20 * np.log10(got + 1e-4)) ** 2,
                               axis=1))
    energy = want.sum(axis=1)
    return float(distance[energy > np.median(energy)].mean())


def test_speech_survives_the_encoder_close_to_the_original(tmp_path: Path) -> None:
    """The writer trades encoder effort for CPU (ogg_writer.OPUS_COMPLEXITY): a spoken line
    must still decode close to what went in, on each channel. On this line the distance is
    6.0 dB at FFmpeg's default effort (10), 6.8 dB at 5 and 8.7 dB at 0."""
    from audio.speech import render_speech_pcm16
    from recording.ogg_writer import StereoOggWriter

    words = np.frombuffer(render_speech_pcm16(
        "Forty two Elm Street, Round Rock. My number is five one two, five five five.", RATE,
        cache=True), dtype="<i2")
    source = words.astype(np.float32) / 32768.0
    writer = StereoOggWriter(tmp_path / "speech.ogg")
    block = RATE // 10
    for start in range(0, source.size, block):
        chunk = source[start:start + block]
        writer.write(np.stack([chunk, chunk * 0.5]))
    writer.close()
    audio = decode(tmp_path / "speech.ogg")
    # Opus delays its output by its pre-skip: line the decoded audio up on the source
    lag = int(np.argmax(np.correlate(audio[CALLER][:RATE], source[:RATE // 2], "valid")))
    for channel, scale in ((CALLER, 1.0), (HEARD, 0.5)):
        decoded = audio[channel][lag:lag + source.size]
        distance = _log_spectral_distance_db(source[:decoded.size] * scale, decoded)
        assert distance < 7.5, (channel, distance)
