"""The simulator's HTTP/WebSocket server and what it records."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any, Literal

from aiohttp import web

from .connection import RealtimeConnection
from .models_api import add_model_routes, default_catalogue
from .out_of_band import OutOfBandRecord, paraphrased
from .records import ToolCallRecord, TurnTiming, WireEvent
from .scenario import SayStep, Scenario, ToolStep
from .script import ResponsePlan, ScriptCursor
from .speech import synthesize_pcm16, synthesize_uncached_pcm16
from .transcriptions_api import (
    MAX_UPLOAD_BYTES,
    SupervisorLines,
    TranscriptionRecord,
    add_transcription_routes,
)
from .wire import SAMPLE_RATE, elide_audio

logger = logging.getLogger(__name__)

_WS_CLOSE_TIMEOUT_S = 2.0


class RealtimeSimulator:
    """A local server speaking the OpenAI Realtime WebSocket protocol, scripted by a scenario.

    Point ``livekit.plugins.openai.realtime.RealtimeModel(base_url=sim.base_url,
    api_key=...)`` at it. One simulator plays the model for one call: the script's progress
    is shared by all connections, so a client that reconnects carries on where it was.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        stream_speed: float | None = None,
        paraphrase_renders: int = 0,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.scenario = scenario
        self._api_key = api_key
        self._host = host
        self._port = port
        self.stream_speed = (
            stream_speed if stream_speed is not None else scenario.audio_stream_speed
        )
        if self.stream_speed <= 0:
            raise ValueError("stream_speed must be positive")
        self._cursor = ScriptCursor(scenario)
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._connections: set[RealtimeConnection] = set()
        self._called: dict[str, tuple[ToolStep, int | None, str]] = {}

        self.wire_log: list[WireEvent] = []
        self.turn_timings: list[TurnTiming] = []
        self.tool_calls_received: list[ToolCallRecord] = []
        self.connections = 0
        """WebSocket connections accepted so far (reconnections count again)."""
        self.out_of_band: list[OutOfBandRecord] = []
        """Out-of-band responses (lines a client had the model read), in the order done."""
        self._paraphrases_left = paraphrase_renders
        """Tests: this many out-of-band lines are paraphrased, not read verbatim."""
        self.models = default_catalogue()
        """What GET /v1/models lists; a test may withdraw or date a model."""
        self.transcriptions: list[TranscriptionRecord] = []
        """Every POST /v1/audio/transcriptions, in order (the supervisor's speech)."""
        self._supervisor_lines = SupervisorLines(scenario.supervisor_lines)

    def begin_call(self, scenario: Scenario | None = None) -> None:
        """Start the script over (optionally with another scenario) for the next call.

        Calls through one simulator run one after another; a reconnect within a call keeps
        its place because only this resets it.
        """
        if scenario is not None:
            self.scenario = scenario
            self._synthesize_all()
        self._cursor = ScriptCursor(self.scenario)
        self._supervisor_lines = SupervisorLines(self.scenario.supervisor_lines)
        self._called.clear()

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        await asyncio.to_thread(self._synthesize_all)
        # form overhead on top of the largest audio upload OpenAI takes
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 64 * 1024)
        for path in ("/v1/realtime", "/realtime", "/openai/v1/realtime"):
            app.router.add_get(path, self._handle)
        add_model_routes(app, self.models, self._api_key)
        add_transcription_routes(app, api_key=self._api_key, models=self.models,
                                 lines=lambda: self._supervisor_lines, log=self.transcriptions)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._bound_port = int(sockets[0].getsockname()[1]) if sockets else self._port
        logger.info("realtime simulator listening", extra={"base_url": self.base_url})

    async def stop(self) -> None:
        runner = self._runner
        if runner is None:
            return
        self._runner = None
        await asyncio.gather(*(c.close() for c in list(self._connections)))
        await runner.cleanup()
        logger.info("realtime simulator stopped")

    async def drop_connections(self) -> int:
        """Close every open socket from the server side, as a network drop would; the client
        is expected to reconnect. Returns how many were dropped."""
        connections = list(self._connections)
        await asyncio.gather(*(c.close() for c in connections))
        return len(connections)

    async def send_raw(self, frames: list[str]) -> int:
        """Send each text frame, as is, to every open connection (malformed server events, for
        tests); returns how many connections got them."""
        connections = list(self._connections)
        for connection in connections:
            for frame in frames:
                await connection.send_raw(frame)
        return len(connections)

    async def restart(self) -> None:
        """Stop, then listen again on the same port (a backend outage and its recovery)."""
        port = self._bound_port
        await self.stop()
        if port is not None:
            self._port = port
        await self.start()

    async def __aenter__(self) -> RealtimeSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("simulator not started")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """What to pass as RealtimeModel(base_url=...): ``http://HOST:PORT/v1``."""
        return f"http://{self._host}:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL the plugin builds from ``base_url``."""
        return f"ws://{self._host}:{self.port}/v1/realtime"

    # ---- observations ----------------------------------------------------------------

    @property
    def expectation_failures(self) -> list[ToolCallRecord]:
        """Tool outputs that did not contain the scenario's expect_output_contains."""
        return [r for r in self.tool_calls_received if r.expectation_met is False]

    def events(
        self, direction: Literal["client", "server"] | None = None, type_: str | None = None
    ) -> list[dict[str, Any]]:
        """Logged events filtered by direction and type, in wire order."""
        return [
            e.event
            for e in self.wire_log
            if (direction is None or e.direction == direction)
            and (type_ is None or e.event.get("type") == type_)
        ]

    # ---- ConnectionHost: what each RealtimeConnection calls ---------------------------

    def record_wire_event(
        self, direction: Literal["client", "server"], event: dict[str, Any]
    ) -> None:
        self.wire_log.append(WireEvent(direction, time.monotonic(), elide_audio(event)))

    def on_caller_segment(self) -> tuple[int | None, str | None]:
        return self._cursor.on_caller_segment()

    def next_response(self) -> ResponsePlan:
        return self._cursor.next_response()

    def record_turn_timing(self, timing: TurnTiming) -> None:
        self.turn_timings.append(timing)

    def on_tool_called(
        self, call_id: str, step: ToolStep, turn_index: int | None, arguments: str
    ) -> None:
        self._called[call_id] = (step, turn_index, arguments)

    def on_tool_output(self, call_id: str, output: str) -> None:
        record = ToolCallRecord(call_id=call_id, output=output, received_at=time.monotonic())
        called = self._called.get(call_id)
        if called is not None:
            step, turn_index, arguments = called
            record.name = step.tool
            record.arguments = arguments
            record.turn_index = turn_index
            if step.expect_output_contains is not None:
                record.expected_output_contains = step.expect_output_contains
                record.expectation_met = step.expect_output_contains in output
                if not record.expectation_met:
                    logger.warning(
                        "tool output does not meet the scenario's expectation",
                        extra={"call_id": call_id, "tool": step.tool, "turn": turn_index},
                    )
        else:
            logger.info(
                "tool output for a call the script did not make", extra={"call_id": call_id}
            )
        self.tool_calls_received.append(record)

    def out_of_band_speech(self, text: str) -> str:
        if self._paraphrases_left > 0:
            self._paraphrases_left -= 1
            return paraphrased(text)
        return text

    def record_out_of_band(self, record: OutOfBandRecord) -> None:
        self.out_of_band.append(record)

    async def speech_pcm(self, texts: tuple[str, ...], *, cache: bool = True) -> bytes:
        # synthesized at start(), so this is a cache hit unless texts are unscripted
        synthesize = synthesize_pcm16 if cache else synthesize_uncached_pcm16
        return b"".join([await asyncio.to_thread(synthesize, t, SAMPLE_RATE) for t in texts])

    def _synthesize_all(self) -> None:
        texts: list[str] = []
        steps = list(self.scenario.greeting)
        for turn in self.scenario.turns:
            steps.extend(turn.agent)
        texts.extend(s.say for s in steps if isinstance(s, SayStep))
        if self.scenario.fallback_reply:
            texts.append(self.scenario.fallback_reply)
        for text in texts:
            synthesize_pcm16(text, SAMPLE_RATE)

    # ---- HTTP ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self._api_key.encode()
        ):
            logger.info("rejected connection without a valid API key")
            return web.json_response(
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                        "param": None,
                    }
                },
                status=401,
            )
        ws = web.WebSocketResponse(timeout=_WS_CLOSE_TIMEOUT_S, max_msg_size=16 * 1024 * 1024)
        if not ws.can_prepare(request).ok:
            return web.json_response(
                {
                    "error": {
                        "message": "This endpoint expects a WebSocket upgrade.",
                        "type": "invalid_request_error",
                        "code": None,
                        "param": None,
                    }
                },
                status=400,
            )
        await ws.prepare(request)
        self.connections += 1
        model = request.query.get("model", "gpt-realtime")
        conn = RealtimeConnection(self, ws, model)
        self._connections.add(conn)
        logger.info("client connected", extra={"connection": self.connections})
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)
            logger.info("client disconnected")
        return ws
