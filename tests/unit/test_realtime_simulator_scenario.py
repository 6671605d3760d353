"""Scenario YAML: the shared format, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_simulator import Scenario, ScenarioError, load_scenario, parse_scenario
from realtime_simulator.scenario import SayStep, ToolStep
from realtime_simulator.script import ScriptCursor

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_example_scenarios_load() -> None:
    paths = sorted((REPO / "scenarios").glob("*.yaml"))
    assert paths
    for path in paths:
        assert isinstance(load_scenario(path), Scenario)


def test_smoke_scenario_fields() -> None:
    scenario = load_scenario(REPO / "scenarios" / "smoke.yaml")
    assert scenario.caller is not None and scenario.caller.number == "+15555550123"
    first = scenario.turns[0]
    assert first.pause_before_ms == 500
    assert first.agent[1] == ToolStep(
        tool="record_field",
        arguments={"field": "problem", "value": "water heater leaking in the basement"},
        expect_output_contains="problem",
    )
    assert scenario.turns[1].barge_in_after_ms == 700
    assert scenario.turns[-1].hangup
    assert [t.caller for t in scenario.spoken_turns] == [
        "Hi, my water heater is leaking in the basement.",
        "It's forty two Elm Street.",
    ]


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\n"
        "turns:\n"
        "  - caller: hello\n"
        "    agent:\n"
        "      - sey: typo\n"
        "      - tool: 'has spaces'\n"
        "  - reply_delay_ms: -5\n"
        "    caller: hi\n"
        "  - hangup: true\n"
        "    caller: bye\n"
        "unknown_field: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}:5: turns[0].agent[0]: an agent step needs either 'say' or 'tool'",
        f"{path}:6: turns[0].agent[1].tool: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'",
        f"{path}:7: turns[1].reply_delay_ms: Input should be greater than or equal to 0",
        f"{path}:9: turns[2]: Value error, a turn is either a caller line or a hangup, not both",
        f"{path}:11: unknown_field: Extra inputs are not permitted",
    ]
    # caller text never appears in an error
    assert "hello" not in str(caught.value)


def test_yaml_syntax_and_missing_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^s\.yaml:3: invalid YAML"):
        parse_scenario("name: x\nturns: [\n", source="s.yaml")
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match="hangup or silent turn must be the last"):
        parse_scenario("name: x\nturns:\n  - hangup: true\n  - caller: hi\n")


def test_cursor_splits_turn_at_each_tool() -> None:
    scenario = parse_scenario(
        "name: x\n"
        "greeting: [{say: Hello.}]\n"
        "fallback_reply: Sorry?\n"
        "turns:\n"
        "  - caller: one\n"
        "    reply_delay_ms: 250\n"
        "    agent: [{say: A.}, {say: B.}, {tool: t1}, {tool: t2}, {say: C.}]\n"
        "  - hangup: true\n"
    )
    cursor = ScriptCursor(scenario)
    greeting = cursor.next_response()
    assert (greeting.source, greeting.text, greeting.turn_index) == ("greeting", "Hello.", None)
    assert cursor.on_caller_segment() == (0, "one")
    plans = [cursor.next_response() for _ in range(4)]
    assert [(p.say_texts, p.tool.tool if p.tool else None) for p in plans] == [
        (("A.", "B."), "t1"),
        ((), "t2"),
        (("C.",), None),
        (("Sorry?",), None),
    ]
    assert [p.reply_delay_ms for p in plans] == [250, 0, 0, 0]
    assert plans[-1].source == "fallback"
    # speech past the end of the script is heard but unscripted
    assert cursor.on_caller_segment() == (None, None)
    assert cursor.unscripted_segments == 1
    assert isinstance(scenario.greeting[0], SayStep)


def test_a_silent_turn_is_last_and_says_nothing() -> None:
    scenario = parse_scenario("name: s\nturns:\n  - silent: true\n")
    assert scenario.turns[0].silent and scenario.spoken_turns == ()
    for bad in ("turns:\n  - silent: true\n  - hangup: true\n",
                "turns:\n  - silent: true\n    caller: hello\n"):
        with pytest.raises(ScenarioError):
            parse_scenario(f"name: s\n{bad}")
