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
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

FieldType = Literal["phone", "date", "money_range", "enum", "free_text"]
EscalationCategory = Literal["pricing", "legal", "urgent", "human_request"]
ESCALATION_CATEGORIES: tuple[EscalationCategory, ...] = (
    "urgent", "human_request", "legal", "pricing",
)  # priority order when one utterance matches several categories
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# Text the tools may speak verbatim must not carry prices: no tool may quote one.
_MONEY_RE = re.compile(
    r"[$€£]\s*\d|\b\d[\d,.]*\s*(?:dollars?|usd|bucks|euros?)\b", re.IGNORECASE
)
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _no_prices(value: str) -> str:
    if _MONEY_RE.search(value):
        raise ValueError("must not contain prices (no tool may quote a price)")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BudgetBucket(_Model):
    """A budget bucket: amounts up to `up_to` (inclusive) fall in it; the last has no bound."""

    name: FieldName
    up_to: float | None = Field(default=None, gt=0)


class FieldSpec(_Model):
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


class EscalationTrigger(_Model):
    phrases: list[ShortText] = Field(min_length=1)
    action: Literal["transfer", "follow_up"] = "transfer"
    say: Text  # what the agent says when this category triggers


class RecordingConsent(_Model):
    required: bool
    text: Text | None = None

    @model_validator(mode="after")
    def _text_when_required(self) -> RecordingConsent:
        if self.required and not self.text:
            raise ValueError("`text` is required when recording consent is required")
        return self


@dataclass(frozen=True)
class OpenInterval:
    opens: time
    closes: time


class WeeklyHours(_Model):
    """Per weekday "HH:MM-HH:MM" (24 h, business time zone) or "closed"; a missing day is closed."""

    monday: str = "closed"
    tuesday: str = "closed"
    wednesday: str = "closed"
    thursday: str = "closed"
    friday: str = "closed"
    saturday: str = "closed"
    sunday: str = "closed"

    @field_validator(*WEEKDAYS)
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        if value.strip().lower() != "closed":
            _parse_interval(value)
        return value


class BusinessHours(_Model):
    time_zone: str
    weekly: WeeklyHours
    note: str = ""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("note")
    @classmethod
    def _note_no_prices(cls, value: str) -> str:
        return _no_prices(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def interval(self, weekday: int) -> OpenInterval | None:
        """Opening hours on a weekday (0 = Monday), or None when closed."""
        spec: str = getattr(self.weekly, WEEKDAYS[weekday])
        if spec.strip().lower() == "closed":
            return None
        return _parse_interval(spec)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        interval = self.interval(local.weekday())
        return interval is not None and interval.opens <= local.time() < interval.closes

    def spoken(self) -> str:
        """Hours as a sentence, consecutive days with the same hours grouped."""
        groups: list[tuple[int, int, OpenInterval | None]] = []
        for day in range(7):
            interval = self.interval(day)
            if groups and groups[-1][2] == interval:
                groups[-1] = (groups[-1][0], day, interval)
            else:
                groups.append((day, day, interval))
        parts = []
        for first, last, interval in groups:
            days = WEEKDAYS[first].title()
            if last > first:
                days += f" to {WEEKDAYS[last].title()}"
            if interval is None:
                parts.append(f"closed {days}")
            else:
                parts.append(f"{days} {_spoken_time(interval.opens)} to "
                             f"{_spoken_time(interval.closes)}")
        return "We're open " + ", ".join(parts) + "."


def _parse_interval(spec: str) -> OpenInterval:
    match = _HOURS_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected 'HH:MM-HH:MM' or 'closed', got {spec!r}")
    oh, om, ch, cm = (int(g) for g in match.groups())
    try:
        opens = time(oh, om)
        closes = time(23, 59, 59) if (ch, cm) == (24, 0) else time(ch, cm)
    except ValueError:
        raise ValueError(f"not a valid time in {spec!r}") from None
    if closes <= opens:
        raise ValueError("closing time must be after opening time")
    return OpenInterval(opens, closes)


def _spoken_time(value: time) -> str:
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return f"{hour} {suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d} {suffix}"


class Service(_Model):
    name: ShortText
    description: str = ""

    @field_validator("name", "description")
    @classmethod
    def _no_prices(cls, value: str) -> str:
        return _no_prices(value)


class ServiceArea(_Model):
    description: Text
    places: list[ShortText] = Field(default_factory=list)  # cities, ZIP codes

    @field_validator("description")
    @classmethod
    def _no_prices(cls, value: str) -> str:
        return _no_prices(value)


class CallLimits(_Model):
    max_call_seconds: int = Field(ge=60, le=7200)
    wrap_up_warning_seconds: int = Field(ge=10, le=600)  # lead time before max_call_seconds
    idle_hangup_seconds: int = Field(ge=5, le=300)
    wrap_up_say: Text = "We're nearly out of time, so let me make sure I have what I need."
    idle_prompt: Text = "Are you still there?"  # said once before an idle hang-up
    goodbye: Text = "Thanks for calling. Goodbye!"

    @model_validator(mode="after")
    def _warning_fits(self) -> CallLimits:
        if self.wrap_up_warning_seconds >= self.max_call_seconds:
            raise ValueError("wrap_up_warning_seconds must be less than max_call_seconds")
        return self


class TransferSettings(_Model):
    """How a call is handed to a person at `transfer_number`."""

    # warm: the caller holds while the agent dials the person, briefs them, then connects them;
    # cold: a SIP REFER hands the caller's line over at once (no briefing, no way back)
    mode: Literal["warm", "cold"] = "warm"
    answer_timeout_seconds: int = Field(default=25, ge=5, le=120)
    hold_message: Text = "Please hold for a moment while I get someone on the line."
    # said to the caller when nobody answered; a callback is requested through the booking
    # backend right after
    no_answer_say: Text = ("I'm sorry, nobody from the team could pick up right now. I've asked "
                           "for someone to call you back as soon as possible.")


# The callee's local time outside which nobody is called, whatever the playbook says (the
# TCPA's 8 AM to 9 PM; many states are stricter, so a playbook can only narrow it).
LEGAL_CALLING_WINDOW = OpenInterval(time(8, 0), time(21, 0))
_PLACEHOLDER_RE = re.compile(r"[{}<>\[\]]")


class OutboundSettings(_Model):
    """Calls we place to leads (`intake call NUMBER`)."""

    # when we may call, in the business's time zone; default: the business hours. The callee's
    # own 8:00-21:00 applies on top, always.
    calling_hours: WeeklyHours | None = None
    # said when a person answers, before the first question: who is calling, that it is an AI,
    # and why; the recording notice is added when the playbook requires consent
    opening: Text | None = None
    # left on an answering machine: the business and a number to call back, nothing about the
    # lead (anyone with access to the mailbox hears it)
    voicemail_message: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=300)] | None = None
    # the number said in the default voicemail message; default: the transfer number
    callback_number: str | None = None
    ring_timeout_seconds: int = Field(default=30, ge=10, le=120)

    @field_validator("calling_hours")
    @classmethod
    def _some_hours(cls, value: WeeklyHours | None) -> WeeklyHours | None:
        if value is not None and all(
                getattr(value, day).strip().lower() == "closed" for day in WEEKDAYS):
            raise ValueError("calling_hours must be open on at least one day")
        return value

    @field_validator("opening", "voicemail_message")
    @classmethod
    def _spoken_as_is(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _PLACEHOLDER_RE.search(value):
            raise ValueError("is spoken as written: no placeholders or brackets")
        return _no_prices(value)

    @field_validator("callback_number")
    @classmethod
    def _callback_e164(cls, value: str | None) -> str | None:
        return None if value is None else _e164(value)


def _e164(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be an E.164 number like +15125550100") from None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed) or formatted != value:
        raise ValueError("must be a valid E.164 number like +15125550100")
    return value


class Playbook(_Model):
    business_name: ShortText
    objective: Text
    persona: Text
    phone_region: str = "US"  # default region for numbers said without a country code
    greeting: Text
    ai_disclosure: Text
    recording_consent: RecordingConsent
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

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}")
        return value.upper()

    @field_validator("transfer_number")
    @classmethod
    def _transfer_e164(cls, value: str) -> str:
        return _e164(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Playbook:
        if not any(spec.required for spec in self.fields.values()):
            raise ValueError("at least one field must be required")
        name = self.followup_channel_field
        if name is not None:
            spec = self.fields.get(name)
            if spec is None or spec.type != "enum":
                raise ValueError("followup_channel_field must name an enum field")
        return self

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
        return Playbook.model_validate(_plain(document))
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            line = _line_of(document, loc)
            field_path = ".".join(str(part) for part in loc) or "(root)"
            message = error["msg"].removeprefix("Value error, ")
            errors.append((line, f"{name}:{line}: {field_path}: {message}"))
        errors.sort(key=lambda item: item[0])
        raise PlaybookError(name, [text for _, text in errors]) from None


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
