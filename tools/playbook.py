"""The playbook: one YAML file per business, validated at start-up.

The objective comes before the persona; everything the agent may say about the business
(hours, services, area) comes from here, and nothing else. Tools validate against this model,
so it lives in `tools/` (which may only import `state/`); `agent/` imports it from here.

`load_playbook(path)` parses with ruamel.yaml (which keeps line numbers) and validates with
pydantic; a `PlaybookError` lists every problem as `file:line: field.path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from tools.business_hours import (
    BusinessHours,
    OpenInterval,
    WeeklyHours,
)
from tools.call_settings import CallLimits, TransferSettings
from tools.outbound_settings import (
    LEGAL_CALLING_WINDOW,
    OutboundSettings,
    e164_number,
)
from tools.playbook_types import (
    ESCALATION_CATEGORIES,
    EscalationCategory,
    FieldName,
    FieldType,
    PlaybookModel,
    ShortText,
    Text,
    Weekday,
    no_prices,
)


class BudgetBucket(PlaybookModel):
    """A budget bucket: amounts up to `up_to` (inclusive) fall in it; the last has no bound."""

    name: FieldName
    up_to: float | None = Field(default=None, gt=0)


class FieldSpec(PlaybookModel):
    type: FieldType
    required: bool = False
    confirm: bool = False  # read back and get a yes before the value counts
    ask: Text  # how the agent asks for it
    description: str = ""
    # enum: canonical choices, each with spoken synonyms
    choices: dict[FieldName, list[ShortText]] | None = None
    # money_range: buckets in ascending order, plus the value for "not sure"
    buckets: list[BudgetBucket] | None = None
    unknown_bucket: FieldName | None = None
    # free_text: longer answers are cut at a word boundary
    max_length: int = Field(default=300, ge=1, le=2000)

    @model_validator(mode="after")
    def _type_options(self) -> FieldSpec:
        if self.type == "enum":
            if not self.choices:
                raise ValueError("an enum field needs `choices`")
        elif self.choices is not None:
            raise ValueError("`choices` is only for enum fields")
        if self.type == "money_range":
            if not self.buckets:
                raise ValueError("a money_range field needs `buckets`")
            bounds = [b.up_to for b in self.buckets]
            if any(b is None for b in bounds[:-1]):
                raise ValueError("only the last bucket may omit `up_to`")
            finite = [b for b in bounds if b is not None]
            if finite != sorted(finite) or len(set(finite)) != len(finite):
                raise ValueError("bucket `up_to` values must be strictly ascending")
            names = [b.name for b in self.buckets]
            if self.unknown_bucket is not None:
                names.append(self.unknown_bucket)
            if len(set(names)) != len(names):
                raise ValueError("bucket names must be unique")
        elif self.buckets is not None or self.unknown_bucket is not None:
            raise ValueError("`buckets` and `unknown_bucket` are only for money_range fields")
        return self

    @property
    def enum_values(self) -> list[str]:
        """Every value a normalized slot of this field may hold (enum and money_range)."""
        if self.choices:
            return list(self.choices)
        if self.buckets:
            values = [b.name for b in self.buckets]
            if self.unknown_bucket:
                values.append(self.unknown_bucket)
            return values
        return []


OneWord = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\W_]+$",
                                            max_length=40)]


class EscalationTrigger(PlaybookModel):
    """Plain phrases a caller might say; the guard hears them in other word orders and forms
    (see tools/escalation.py)."""

    phrases: list[ShortText] = Field(min_length=1)
    # a phrase word also matches each of its synonyms: {burst: [broke, busted]}
    synonyms: dict[OneWord, list[OneWord]] = Field(default_factory=dict)
    # words inside these phrases never trigger the category ("smoke detector")
    ignore: list[ShortText] = Field(default_factory=list)
    action: Literal["transfer", "follow_up"] = "transfer"
    say: Text  # what the agent says when this category triggers

    @field_validator("say")
    @classmethod
    def _say_no_prices(cls, value: str) -> str:
        return no_prices(value)


class RecordingConsent(PlaybookModel):
    required: bool
    text: Text | None = None

    @model_validator(mode="after")
    def _text_when_required(self) -> RecordingConsent:
        if self.required and not self.text:
            raise ValueError("`text` is required when recording consent is required")
        return self


class RecordingSettings(PlaybookModel):
    # false: no audio is kept, and nothing said to callers may claim the call is recorded
    enabled: bool = True


# words that tell a caller the call is recorded ("recorded", "recording", "we record")
_CLAIMS_RECORDING = re.compile(r"\brecord(ed|ing|s)?\b", re.IGNORECASE)


class Service(PlaybookModel):
    name: ShortText
    description: str = ""

    @field_validator("name", "description")
    @classmethod
    def no_prices(cls, value: str) -> str:
        return no_prices(value)


class ServiceArea(PlaybookModel):
    description: Text
    places: list[ShortText] = Field(default_factory=list)  # cities, ZIP codes

    @field_validator("description")
    @classmethod
    def no_prices(cls, value: str) -> str:
        return no_prices(value)


class Playbook(PlaybookModel):
    business_name: ShortText
    objective: Text
    persona: Text
    phone_region: str = "US"  # default region for numbers said without a country code
    greeting: Text
    ai_disclosure: Text
    recording_consent: RecordingConsent
    recording: RecordingSettings = RecordingSettings()
    business_hours: BusinessHours
    services: list[Service] = Field(min_length=1)
    service_area: ServiceArea
    transfer_number: str
    transfer: TransferSettings = TransferSettings()
    call_limits: CallLimits
    retention_days: int = Field(ge=1, le=3650)
    fields: dict[FieldName, FieldSpec] = Field(min_length=1)
    followup_channel_field: FieldName | None = None
    escalation: dict[EscalationCategory, EscalationTrigger]
    must_never: list[Text] = Field(min_length=1)
    outbound: OutboundSettings = OutboundSettings()
    # calendar: book through the booking backend; callback_only: every booking is a callback
    # request a person confirms (production with no BUSINESS_API_BASE needs this)
    booking: Literal["calendar", "callback_only"] = "calendar"
    # what callers say over the agent to show they are listening ("you bet"), on top of the
    # built-in list: playout resumes instead of the agent being cut off
    backchannels: list[ShortText] = Field(default_factory=list)
    # files of example caller sentences by escalation category, relative to the playbook: the
    # guard learns a second opinion from them (tools/escalation_model.py)
    escalation_examples: list[str] = Field(default_factory=list)

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}")
        return value.upper()

    @field_validator("transfer_number")
    @classmethod
    def _transfer_e164(cls, value: str) -> str:
        return e164_number(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Playbook:
        if not any(spec.required for spec in self.fields.values()):
            raise ValueError("at least one field must be required")
        name = self.followup_channel_field
        if name is not None:
            spec = self.fields.get(name)
            if spec is None or spec.type != "enum":
                raise ValueError("followup_channel_field must name an enum field")
        if not self.recording.enabled:
            self._check_no_recording_claims()
        return self

    def _check_no_recording_claims(self) -> None:
        """With recording off, callers must not hear that the call is recorded. A failed
        check names its field as `path: message` (load_playbook puts it on that line)."""
        if self.recording_consent.required:
            raise ValueError("recording_consent.required: recording.enabled is false, so no "
                             "consent to a recording can be asked for")
        said = {"greeting": self.greeting, "ai_disclosure": self.ai_disclosure,
                "recording_consent.text": self.recording_consent.text,
                "outbound.opening": self.outbound.opening,
                "outbound.voicemail_message": self.outbound.voicemail_message}
        for path, text in said.items():
            if text and _CLAIMS_RECORDING.search(text):
                raise ValueError(f"{path}: recording.enabled is false, but this text tells "
                                 "callers the call is recorded")

    @property
    def zone(self) -> ZoneInfo:
        return self.business_hours.zone

    @property
    def calling_hours(self) -> BusinessHours:
        """When outbound calls may be placed, in the business's time zone."""
        weekly = self.outbound.calling_hours or self.business_hours.weekly
        return BusinessHours(time_zone=self.business_hours.time_zone, weekly=weekly)

    def required_fields(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.required]

    def summary(self) -> str:
        required = len(self.required_fields())
        return (f"{self.business_name}: {len(self.fields)} fields ({required} required), "
                f"{len(self.escalation)} escalation categories, {len(self.services)} services, "
                f"hours in {self.business_hours.time_zone}")


class PlaybookError(Exception):
    """Every problem in a playbook file, each as `file:line: field.path: message`."""

    def __init__(self, path: str, errors: Sequence[str]) -> None:
        self.path = path
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def load_playbook(path: str | Path) -> Playbook:
    """Read and validate a playbook; raises `PlaybookError` listing every problem."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(name, [f"{name}:0: (file): cannot read: {exc.__class__.__name__}"]
                            ) from None
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise PlaybookError(name, [f"{name}:{line}: (yaml): {problem}"]) from None
    except YAMLError as exc:
        raise PlaybookError(name, [f"{name}:0: (yaml): {exc}"]) from None
    if not isinstance(document, Mapping):
        raise PlaybookError(name, [f"{name}:1: (root): the playbook must be a YAML mapping"])
    try:
        playbook = Playbook.model_validate(_plain(document))
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if not loc:
                loc, message = _named_location(document, message)
            line = _line_of(document, loc)
            field_path = ".".join(str(part) for part in loc) or "(root)"
            errors.append((line, f"{name}:{line}: {field_path}: {message}"))
        errors.sort(key=lambda item: item[0])
        raise PlaybookError(name, [text for _, text in errors]) from None
    return _with_examples_found(playbook, Path(path), document)


def _with_examples_found(playbook: Playbook, path: Path, document: Any) -> Playbook:
    """The example files as absolute paths, each read once here so a bad one is named now."""
    from tools.escalation_model import example_paths

    if not playbook.escalation_examples:
        return playbook
    resolved, problems = example_paths(playbook.escalation_examples, path.parent)
    if problems:
        line = _line_of(document, ("escalation_examples",))
        raise PlaybookError(str(path), [f"{path}:{line}: escalation_examples: {problem}"
                                        for problem in problems])
    return playbook.model_copy(update={"escalation_examples": [str(p) for p in resolved]})


def _named_location(document: Any, message: str) -> tuple[tuple[Any, ...], str]:
    """A cross-field check's `path: message`, when the path is in the document."""
    head, sep, rest = message.partition(": ")
    if not sep or not re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", head):
        return (), message
    node = document
    for part in head.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return (), message
        node = node[part]
    return tuple(head.split(".")), rest


def _plain(node: Any) -> Any:
    """ruamel's round-trip types as plain Python values, for pydantic."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _line_of(document: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node of `loc` that exists in the document."""
    node = document
    line = int(getattr(getattr(document, "lc", None), "line", 0)) + 1
    for part in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, Mapping) and part in node:
            if lc is not None:
                line = int(lc.key(part)[0]) + 1
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if lc is not None:
                line = int(lc.item(part)[0]) + 1
            node = node[part]
        else:
            break
    return line


# the building blocks moved to playbook_types, business_hours and outbound_settings; what
# other modules import from here stays importable here
__all__ = [
    "ESCALATION_CATEGORIES",
    "LEGAL_CALLING_WINDOW",
    "BusinessHours",
    "EscalationCategory",
    "EscalationTrigger",
    "FieldSpec",
    "FieldType",
    "OpenInterval",
    "OutboundSettings",
    "Playbook",
    "PlaybookError",
    "ShortText",
    "Text",
    "Weekday",
    "WeeklyHours",
    "load_playbook",
]
