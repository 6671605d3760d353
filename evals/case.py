"""An eval case: today's call scenario plus what the stored record must show afterwards.

A case file is a scenario YAML (see realtime_simulator/scenario.py) with an `expect` block and,
per caller turn, optional `audio` (a WAV file of real caller audio, relative to the case file),
`noise` (line noise mixed in with sox) and `dtmf` (keys pressed before the line is spoken).
Errors name the file, the line and the field, never a value (it may be caller speech).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from realtime_simulator import Scenario

TURN_EXTRAS = ("audio", "noise", "dtmf", "pause_ms")
PAUSE_MARK = "..."
"""Where a caller with `pause_ms` stops mid-line (the simulator's transcript keeps it)."""
NoiseKind = Literal["street", "car"]
DTMF_KEYS = re.compile(r"^[0-9*#]{1,32}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contains(_Strict):
    """Every listed piece appears in the value, ignoring case."""

    contains: tuple[str, ...] = Field(min_length=1)


class AnyOf(_Strict):
    """The value is one of these (normalized values, exact)."""

    any_of: tuple[str, ...] = Field(min_length=1)


FieldExpectation = str | Contains | AnyOf


class LatencyCeilings(_Strict):
    """Upper bounds in milliseconds, measured where the caller hears the agent."""

    greeting_ms: float | None = Field(default=None, gt=0)
    response_ms: float | None = Field(default=None, gt=0)
    """Every reply to an ordinary caller turn: caller's end of speech to agent audio."""
    barge_in_ms: float | None = Field(default=None, gt=0)
    """Every barge-in: caller starts talking over the agent to the agent's audio stopping."""


class Expectation(_Strict):
    fields: dict[str, FieldExpectation] = Field(default_factory=dict)
    missing_fields: tuple[str, ...] | None = None
    """Exactly these required fields are missing (order ignored)."""
    complete: bool | None = None
    escalated: bool | None = None
    escalation_reason: str | None = None
    end_reason: str | None = None
    next_action: str | None = None
    agent_never_says: tuple[str, ...] = ()
    agent_says: tuple[str, ...] = ()
    caller_talked_over: bool | None = None
    """false: the agent never started speaking while the caller was saying a line (a noisy
    line must not end the caller's turn early)."""
    latency: LatencyCeilings | None = None

    @field_validator("agent_never_says", "agent_says")
    @classmethod
    def _regexes_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc.msg})") from None
        return patterns


class TurnExtras(_Strict):
    audio: str | None = Field(default=None, min_length=1)
    noise: NoiseKind | None = None
    dtmf: str | None = None
    pause_ms: int | None = Field(default=None, ge=100, le=5000)
    """The caller falls silent this long at each "..." in the line, then goes on."""

    @field_validator("dtmf")
    @classmethod
    def _keys(cls, value: str | None) -> str | None:
        if value is not None and not DTMF_KEYS.match(value):
            raise ValueError("dtmf takes 1-32 keys from 0-9, * and #")
        return value


@dataclass(frozen=True)
class EvalCase:
    name: str
    path: Path
    scenario: Scenario
    expect: Expectation
    extras: tuple[TurnExtras, ...]
    """One per scenario turn, in order."""

    def audio_path(self, turn: int) -> Path | None:
        audio = self.extras[turn].audio
        return None if audio is None else (self.path.parent / audio).resolve()


@dataclass(frozen=True)
class CaseProblem:
    where: str  # file:line: field.path
    message: str


class CaseError(ValueError):
    def __init__(self, source: str, problems: Sequence[CaseProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{p.where}: {p.message}" for p in self.problems))


@dataclass
class Bank:
    cases: list[EvalCase] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)


def load_bank(folder: Path) -> Bank:
    """Every `*.yaml` case in the folder (sorted by name); a bad file becomes an error, the
    rest still load."""
    bank = Bank()
    names: set[str] = set()
    for path in sorted(folder.glob("*.yaml")):
        try:
            case = load_case(path)
        except CaseError as exc:
            bank.errors.append(exc)
            continue
        if case.name in names:
            bank.errors.append(CaseError(str(path), [CaseProblem(
                f"{path}: name", "another case in the bank has this name")]))
            continue
        names.add(case.name)
        bank.cases.append(case)
    return bank


def load_case(path: Path) -> EvalCase:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(source, [CaseProblem(source, f"cannot read file ({exc.strerror})")]) \
            from None
    return parse_case(text, path)


def parse_case(text: str, path: Path) -> EvalCase:
    source = str(path)
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        raise CaseError(source, [CaseProblem(f"{source}:{line}", f"invalid YAML: {exc.problem}")]) \
            from None
    except YAMLError:
        raise CaseError(source, [CaseProblem(source, "invalid YAML")]) from None
    if not isinstance(data, dict):
        raise CaseError(source, [CaseProblem(source, "the top level must be a mapping")])
    problems: list[CaseProblem] = []
    plain = _plain(data)
    expect_data = plain.pop("expect", None)
    if expect_data is None:
        problems.append(CaseProblem(f"{source}: expect", "a case needs an 'expect' block"))
    extras_data: list[dict[str, Any]] = []
    turns = plain.get("turns")
    if isinstance(turns, list):
        for turn in turns:
            extra = {}
            if isinstance(turn, dict):
                extra = {k: turn.pop(k) for k in TURN_EXTRAS if k in turn}
            extras_data.append(extra)
    scenario = _validate(Scenario, plain, data, (), source, problems)
    expect = (_validate(Expectation, expect_data, data, ("expect",), source, problems)
              if expect_data is not None else None)
    extras = [_validate(TurnExtras, extra, data, ("turns", i), source, problems)
              for i, extra in enumerate(extras_data)]
    for i, turn_extra in enumerate(extras):
        if turn_extra is not None and turn_extra.pause_ms is not None:
            problems.extend(_pause_problems(turn_extra, scenario, i, source, data))
        if turn_extra is None or turn_extra.audio is None:
            continue
        audio = (path.parent / turn_extra.audio).resolve()
        if not audio.is_file():
            problems.append(CaseProblem(_where(source, data, ("turns", i, "audio")),
                                        "audio file not found"))
    if problems or scenario is None or expect is None or any(e is None for e in extras):
        raise CaseError(source, problems)
    return EvalCase(name=scenario.name, path=path, scenario=scenario, expect=expect,
                    extras=tuple(e for e in extras if e is not None))


def _pause_problems(extra: TurnExtras, scenario: Scenario | None, index: int, source: str,
                    data: Any) -> list[CaseProblem]:
    where = _where(source, data, ("turns", index, "pause_ms"))
    if extra.audio is not None:
        return [CaseProblem(where, "pause_ms is for spoken lines, not a WAV file")]
    line = scenario.turns[index].caller if scenario is not None else None
    if scenario is not None and (line is None or PAUSE_MARK not in line.strip(". ")):
        return [CaseProblem(where, f'pause_ms needs a "{PAUSE_MARK}" inside the caller line')]
    return []


_M = TypeVar("_M", bound=BaseModel)


def _validate(model: type[_M], value: Any, data: Any, prefix: tuple[int | str, ...],
              source: str, problems: list[CaseProblem]) -> _M | None:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        locs = [tuple(e["loc"]) for e in errors]
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "too_short" and any(
                    len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
                continue  # a list whose items all failed is also "too short"
            full = prefix + loc
            problems.append(CaseProblem(_where(source, data, full), err["msg"]))
        return None


def _where(source: str, data: Any, loc: tuple[int | str, ...]) -> str:
    line = _line_of(data, loc)
    dotted = _dotted(data, loc)
    return f"{source}:{line}: {dotted}" if line else f"{source}: {dotted}"


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


# parts pydantic puts in an error location that are not keys of the YAML: union members
_UNION_TAGS = frozenset({"str", "Contains", "AnyOf", "SayStep", "ToolStep"})


def _walk(data: Any, loc: tuple[int | str, ...]) -> list[tuple[int | str, int | None]]:
    """The parts of `loc` found in the YAML, each with its 1-based line. A key that is not
    there (a missing field) is kept, with its parent mapping's line, and ends the walk."""
    node = data
    out: list[tuple[int | str, int | None]] = []
    for i, part in enumerate(loc):
        if node is None:
            break
        if _is_step_tag(loc, i) or (part in _UNION_TAGS and not (
                isinstance(node, dict) and part in node)):
            continue
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and isinstance(part, str):
            if part in node:
                out.append((part, lc.key(part)[0] + 1 if lc is not None else None))
                node = node[part]
            else:
                out.append((part, lc.line + 1 if lc is not None else None))
                node = None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append((part, lc.item(part)[0] + 1 if lc is not None else None))
            node = node[part]
        else:
            break
    return out


def _is_step_tag(loc: tuple[int | str, ...], i: int) -> bool:
    """The discriminator tag of an agent step ('say' or 'tool'), not a key in the YAML."""
    return (i >= 2 and loc[i] in ("say", "tool") and isinstance(loc[i - 1], int)
            and loc[i - 2] in ("agent", "greeting") and i + 1 < len(loc))


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    lines = [line for _, line in _walk(data, loc) if line is not None]
    return lines[-1] if lines else (data.lc.line + 1 if hasattr(data, "lc") else None)


def _dotted(data: Any, loc: tuple[int | str, ...]) -> str:
    out = ""
    for part, _ in _walk(data, loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "<root>"
