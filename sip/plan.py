"""Provisioning plans: what would change, rendered without secrets, and applied with rollback.

A plan is a list of steps. Each step describes its change (for `intake provision plan`) and knows
how to make it; making it returns how to undo it. `apply_plan` runs the steps in order and, when
one fails, undoes the ones that ran, newest first, so a failed run leaves nothing half-created.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

logger = logging.getLogger(__name__)

Action = Literal["create", "update", "delete"]
Undo = Callable[[], Awaitable[None]]
StepRun = Callable[[], Awaitable[Undo | None]]

# what plan output shows for a secret that is set or changes; the value itself never appears
SECRET = "(secret)"

_SYMBOL: dict[Action, str] = {"create": "+", "update": "~", "delete": "-"}


class ProvisioningError(Exception):
    """A provisioning failure the operator can act on; the message is one line, no secrets."""


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str | None
    after: str | None

    def render(self) -> str:
        if self.before is None:
            return f"{self.name}: {self.after}"
        if self.after is None:
            return f"{self.name}: {self.before} -> (removed)"
        return f"{self.name}: {self.before} -> {self.after}"


@dataclass(frozen=True)
class Change:
    side: str  # "livekit" or "twilio"
    action: Action
    kind: str  # "inbound trunk", "origination URL", ...
    name: str
    fields: tuple[FieldChange, ...] = ()

    def render(self) -> list[str]:
        lines = [f"  {_SYMBOL[self.action]} {self.action} {self.side} {self.kind} {self.name!r}"]
        lines.extend(f"      {item.render()}" for item in self.fields)
        return lines


@dataclass(frozen=True)
class Step:
    change: Change
    run: StepRun


@dataclass
class ProvisioningPlan:
    steps: list[Step] = field(default_factory=list)
    # sides that were compared (and found reachable), for "no changes" output
    sides: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [step.change for step in self.steps]

    @property
    def is_empty(self) -> bool:
        return not self.steps

    def extend(self, other: ProvisioningPlan) -> None:
        self.steps.extend(other.steps)
        self.sides.extend(other.sides)

    def render(self) -> str:
        lines: list[str] = []
        for side in self.sides:
            side_changes = [c for c in self.changes if c.side == side]
            if not side_changes:
                lines.append(f"{side}: up to date")
                continue
            lines.append(f"{side}:")
            for change in side_changes:
                lines.extend(change.render())
        counts = {action: sum(1 for c in self.changes if c.action == action)
                  for action in ("create", "update", "delete")}
        lines.append(f"Plan: {counts['create']} to create, {counts['update']} to update, "
                     f"{counts['delete']} to delete.")
        return "\n".join(lines)


def set_diff(name: str, before: Iterable[str], after: Iterable[str]) -> FieldChange | None:
    """A field change for an unordered list, or None when the sets are equal."""
    old, new = sorted(set(before)), sorted(set(after))
    if old == new:
        return None
    return FieldChange(name, ", ".join(old) or "(none)", ", ".join(new) or "(none)")


def value_diff(name: str, before: object, after: object, *, secret: bool = False) \
        -> FieldChange | None:
    if before == after:
        return None
    if secret:
        return FieldChange(name, SECRET if before else "(none)", SECRET if after else "(none)")
    return FieldChange(name, _show(before), _show(after))


def created_fields(pairs: Sequence[tuple[str, object]],
                   secrets: frozenset[str] = frozenset()) -> tuple[FieldChange, ...]:
    out: list[FieldChange] = []
    for name, value in pairs:
        if value in (None, "", (), [], frozenset()):
            continue
        shown = SECRET if name in secrets else _show(value)
        out.append(FieldChange(name, None, shown))
    return tuple(out)


def _show(value: object) -> str:
    if isinstance(value, (set, frozenset, list, tuple)):
        return ", ".join(sorted(str(v) for v in value)) or "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return "(none)"
    return str(value)


@dataclass(frozen=True)
class ApplyResult:
    applied: list[Change]


async def apply_plan(plan: ProvisioningPlan) -> ApplyResult:
    """Run every step; on failure undo what ran and raise one `ProvisioningError`."""
    undo_stack: list[tuple[Change, Undo]] = []
    applied: list[Change] = []
    for step in plan.steps:
        logger.info("provisioning step starting",
                    extra={"side": step.change.side, "action": step.change.action,
                           "kind": step.change.kind})
        try:
            undo = await step.run()
        except Exception as exc:
            failed = await _rollback(undo_stack)
            reason = exc if isinstance(exc, ProvisioningError) else ProvisioningError(
                f"{type(exc).__name__}")
            suffix = (f"; rolled back {len(undo_stack)} earlier change(s)" if not failed
                      else f"; rollback FAILED for {len(failed)} change(s): "
                      + ", ".join(f"{c.side} {c.kind} {c.name!r}" for c in failed))
            raise ProvisioningError(
                f"{step.change.action} {step.change.side} {step.change.kind} "
                f"{step.change.name!r} failed: {reason}{suffix}") from exc
        applied.append(step.change)
        if undo is not None:
            undo_stack.append((step.change, undo))
    return ApplyResult(applied=applied)


async def _rollback(undo_stack: list[tuple[Change, Undo]]) -> list[Change]:
    failed: list[Change] = []
    for change, undo in reversed(undo_stack):
        try:
            await undo()
        except Exception as exc:
            # no traceback: provider errors can carry request URLs with phone numbers in them
            logger.error("provisioning rollback step failed",
                         extra={"side": change.side, "kind": change.kind,
                                "error": type(exc).__name__})
            failed.append(change)
    return failed
