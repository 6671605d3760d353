"""The call scenario: what the simulated caller says and what the simulated model does in reply.

One YAML file per scenario, shared by the Realtime simulator (which plays the model) and the
simulated caller (which plays the person on the phone). Validated with pydantic; errors name
the file, the line and the field, never the field's value (it may be caller text).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SayStep(_Strict):
    """The model speaks this text (audio plus transcript)."""

    say: str = Field(min_length=1)


class ToolStep(_Strict):
    """The model calls a function tool; the response ends with this call."""

    tool: str = Field(min_length=1, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    arguments: dict[str, Any] = Field(default_factory=dict)
    expect_output_contains: str | None = None
    """Checked against the function_call_output the client sends back; a mismatch is recorded
    by the simulator, not raised."""


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "tool" in value:
            return "tool"
        if "say" in value:
            return "say"
        return None
    if isinstance(value, ToolStep):
        return "tool"
    if isinstance(value, SayStep):
        return "say"
    return None


AgentStep = Annotated[
    Annotated[SayStep, Tag("say")] | Annotated[ToolStep, Tag("tool")],
    Discriminator(
        _step_kind,
        custom_error_type="invalid_agent_step",
        custom_error_message="an agent step needs either 'say' or 'tool'",
    ),
]


class CallerInfo(_Strict):
    number: str | None = None
    identity: str = "caller"


class CallerTurn(_Strict):
    """One caller line (or the caller hanging up) and the model's scripted reply to it."""

    caller: str | None = Field(default=None, min_length=1)
    hangup: bool = False
    pause_before_ms: int | None = Field(default=None, ge=0)
    """Gap the caller leaves after the agent's audio stops; None: the caller's default."""
    barge_in_after_ms: int | None = Field(default=None, ge=0)
    """Start this line this long after the agent's previous reply began, talking over it."""
    reply_delay_ms: int = Field(default=0, ge=0)
    """Simulated think time before the first output of the model's reply to this line."""
    wait_for_hangup: bool = False
    """After this line the caller waits for the agent to hang up (a goodbye, an intake done)."""
    silent: bool = False
    """The caller says nothing more and waits for the agent to hang up: the idle sequence."""
    agent: tuple[AgentStep, ...] = ()

    @model_validator(mode="after")
    def _caller_xor_hangup(self) -> CallerTurn:
        if self.hangup:
            if self.caller is not None:
                raise ValueError("a turn is either a caller line or a hangup, not both")
            if self.agent or self.barge_in_after_ms is not None or self.wait_for_hangup:
                raise ValueError("a hangup turn takes no agent steps, barge_in_after_ms or "
                                 "wait_for_hangup")
        elif self.silent:
            if (self.caller is not None or self.agent or self.barge_in_after_ms is not None
                    or self.wait_for_hangup):
                raise ValueError("a silent turn takes no caller line, agent steps, "
                                 "barge_in_after_ms or wait_for_hangup")
        elif self.caller is None:
            raise ValueError("a turn needs 'caller' (what the caller says), 'hangup: true' "
                             "or 'silent: true'")
        return self


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    caller: CallerInfo | None = None
    turns: tuple[CallerTurn, ...] = Field(min_length=1)
    greeting: tuple[AgentStep, ...] = ()
    """Steps for client-initiated responses before the caller first speaks (the agent's
    greeting, usually requested by the worker with generate_reply)."""
    fallback_reply: str | None = None
    """Spoken for a response.create with no scripted steps pending; None: an empty response."""
    audio_stream_speed: float = Field(default=2.0, gt=0, le=1000)
    """How many times faster than real time the model's audio is streamed."""
    supervisor_lines: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    """What a supervisor who takes the call over says, in order: each upload to
    /v1/audio/transcriptions that holds speech is the next line (there is no offline ASR)."""

    @model_validator(mode="after")
    def _hangup_is_last(self) -> Scenario:
        for turn in self.turns[:-1]:
            if turn.hangup or turn.silent:
                raise ValueError("a hangup or silent turn must be the last turn")
        return self

    @property
    def spoken_turns(self) -> tuple[CallerTurn, ...]:
        """The turns in which the caller speaks, in order (hangups left out)."""
        return tuple(t for t in self.turns if t.caller is not None)


class ScenarioError(ValueError):
    """A scenario file that cannot be read, parsed or validated.

    ``problems`` holds one ``(location, message)`` per problem, where location is
    ``file:line: field.path``.
    """

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{where}: {msg}" for where, msg in self.problems))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, [(source, f"cannot read file ({exc.strerror})")]) from None
    return parse_scenario(text, source=source)


def parse_scenario(text: str, *, source: str = "<string>") -> Scenario:
    """Validate scenario YAML given as text; ``source`` names it in errors."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        problem = f"invalid YAML: {exc.problem}"
        raise ScenarioError(source, [(f"{source}:{line}", problem)]) from None
    except YAMLError:
        raise ScenarioError(source, [(source, "invalid YAML")]) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, [(source, "the top level must be a mapping")])
    try:
        return Scenario.model_validate(_plain(data))
    except ValidationError as exc:
        problems = []
        errors = exc.errors(include_input=False, include_url=False)
        failed_locs = [tuple(e["loc"]) for e in errors]
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "too_short" and any(
                len(other) > len(loc) and other[: len(loc)] == loc for other in failed_locs
            ):
                # a list whose every item failed is also "too short"; the item errors say more
                continue
            line = _line_of(data, loc)
            where = f"{source}:{line}" if line else source
            problems.append((f"{where}: {_dotted(loc)}", err["msg"]))
        raise ScenarioError(source, problems) from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers to plain dicts and lists (pydantic wants plain types)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_step_tag(loc, i):
            # the discriminator tag is in pydantic's location but not in the YAML
            continue
        else:
            out += f".{part}" if out else part
    return out or "<root>"


def _is_step_tag(loc: tuple[int | str, ...], i: int) -> bool:
    return (
        i >= 2
        and loc[i] in ("say", "tool")
        and isinstance(loc[i - 1], int)
        and loc[i - 2] in ("agent", "greeting")
    )


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node the error location reaches."""
    node = data
    line: int | None = None
    for i, part in enumerate(loc):
        if _is_step_tag(loc, i):
            continue
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            if lc is not None:
                line = lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if lc is not None:
                line = lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, dict) and lc is not None and line is None:
            line = lc.line + 1
    return line
