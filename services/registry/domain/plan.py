"""The activity plan (Bilaga 1) an account is registered with, and its rules.

Every rule is a field validator, so one validation reports every failing field with its
rule ID (P3.1, P3.2, P4.2, P4.3, P9, B1, L7) in Swedish and English. Rules that depend on
the kommun (its name, its organisation) read the KommunConfig from the validation context.

L7, P7: the plan is shown on the public list, its HTML page and the CSV export, and it
travels in events to notifications and the archive, so no text in it may hold a
personnummer or samordningsnummer. Every text field of every part of the plan is checked
when a plan is submitted (`parse_plan`); a plan read back from the store is taken as it
was saved.
"""

import re
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.registry.domain.naming import facebook_page_problem, handle_problem, host_problem
from shared.events.account import Platform
from shared.kommun import KommunConfig
from shared.personnummer import find_personnummer
from shared.rules import rule_error, violations_of
from shared.sensitive import personnummer_in

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

MIN_ADMINISTRATORS = 2  # P3.1
MAX_ADMINISTRATORS_IN_PLAN = 3  # B1 item 5: "up to three listed"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,18}[0-9]$")


# In a phone field a bare run of ten digits is a phone number (0701234567 has the shape
# of a personnummer and about one in a hundred passes its check); a personnummer written
# as one (19121212-1212, 191212121212, 121212-1212) is still refused there.
_TEN_DIGITS = re.compile(r"\d{10}")


def _holds_personnummer(field: str | None, text: str) -> bool:
    if field != "phone":
        return personnummer_in(text)
    return any(not _TEN_DIGITS.fullmatch(text[start:end]) for start, end in find_personnummer(text))


class _Plan(BaseModel):
    # Text is kept as typed: stripping before the length check would refuse what the
    # documented schema (minLength) accepts.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _l7(cls, value: Any, info: ValidationInfo) -> Any:
        """L7, P7: no personnummer or samordningsnummer in any text of the plan.

        Runs before the field's own rules, so the refusal never repeats the number (as
        "unknown department '…'" would)."""
        if info.context is None:  # read back from the store, not submitted
            return value
        if isinstance(value, str) and _holds_personnummer(info.field_name, value):
            raise rule_error(
                "L7",
                "Texten innehåller ett personnummer eller samordningsnummer. Planen visas "
                "offentligt och sådana nummer får aldrig visas där; ta bort numret (L7, P7).",
                "the text holds a personnummer or samordningsnummer; the plan is public and "
                "such numbers must never be shown, so remove it (L7, P7)",
            )
        return value


def _kommun(info: ValidationInfo) -> KommunConfig | None:
    context = info.context or {}
    config = context.get("kommun")
    return config if isinstance(config, KommunConfig) else None


class Person(_Plan):
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    phone: str = Field(description="Swedish or international number, e.g. 0587-812 00.")

    @field_validator("email", mode="wrap")
    @classmethod
    def _email(cls, value: Any, check: ValidatorFunctionWrapHandler) -> Any:
        try:
            return check(value)
        except ValidationError as exc:
            if any(e["type"] == "policy" for e in exc.errors()):
                raise  # a policy rule of its own (L7), not a malformed address
            raise rule_error(
                "B1",
                f"E-postadressen {value!r} har fel format.",
                f"the e-mail address {value!r} is malformed",
            ) from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = re.sub(r"\D", "", value)
        if not _PHONE.match(value) or not 7 <= len(digits) <= 15:
            raise rule_error(
                "B1",
                f"Telefonnumret {value!r} har fel format.",
                f"the phone number {value!r} is malformed",
            )
        return value

    @property
    def key(self) -> str:
        """One person, whatever the case of their address."""
        return str(self.email).casefold()


class Administrator(Person):
    """Kontoansvarig (B1 item 5), who can log in to the account (P3.1)."""

    platform_knowledge_confirmed: date | None = Field(
        default=None,
        validate_default=True,
        description="P9: when the administrator confirmed knowing the platform.",
    )

    @field_validator("platform_knowledge_confirmed")
    @classmethod
    def _p9(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None:
            raise rule_error(
                "P9",
                "Ange datum då administratören bekräftade sin kunskap om plattformen.",
                "give the date the administrator confirmed knowing the platform",
            )
        today = (info.context or {}).get("today")
        if isinstance(today, date) and value > today:
            raise rule_error("P9", "Datumet ligger i framtiden.", "the date is in the future")
        return value


_LOCAL_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


def _local_time(value: Any) -> Any:
    """B1 item 7: a wall-clock time in Sweden, HH:MM; not a number, not with an offset."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _LOCAL_TIME.fullmatch(value):
        return value
    raise rule_error(
        "B1",
        "Ange klockslaget som TT:MM, svensk tid.",
        "give the time as HH:MM, Swedish local time",
    )


# Documented as HH:MM[:SS] rather than JSON Schema's `time` format, which needs an offset.
LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_LOCAL_TIME.pattern}$",
            "description": "Local time in Sweden, HH:MM",
        }
    ),
]


class Monitoring(_Plan):
    """When someone looks at the account (B1 item 7, L2)."""

    days: list[Weekday] = Field(min_length=1)
    start: LocalTime
    end: LocalTime
    public_holidays: bool = Field(default=False, description="Monitored on public holidays too.")

    @model_validator(mode="after")
    def _window(self) -> "Monitoring":
        if self.end <= self.start:
            raise rule_error(
                "B1",
                "Bevakningen måste sluta efter att den börjar.",
                "monitoring must end after it starts",
            )
        return self


class UpdateFrequency(_Plan):
    """How often the account is updated (B1 item 7), e.g. at least 2 posts a week."""

    posts: int = Field(ge=1)
    per: Literal["day", "week", "month"]


class ActivityPlan(_Plan):
    """Verksamhetsplan för sociala medier (Bilaga 1)."""

    handle: str = Field(min_length=2, max_length=100, description="Account name on the platform.")
    platform: Platform = Field(description="B1 item 1")
    url: HttpUrl = Field(description="B1 item 2: the account's web address")
    department: str = Field(min_length=1, max_length=200, description="B1 item 3: förvaltning")
    unit: str = Field(min_length=1, max_length=200, description="B1 item 3: enhet")
    purpose: str = Field(min_length=10, max_length=4000, description="B1 item 4")
    audience: str = Field(min_length=3, max_length=2000, description="B1 item 4: target audience")
    administrators: list[Administrator] = Field(description="B1 item 5, P3.1: two or three")
    operators: list[Person] = Field(default_factory=list, description="B1 item 6: driftansvariga")
    update_frequency: UpdateFrequency
    monitoring: Monitoring
    removal_deadline_hours: int | None = Field(
        default=None, gt=0, le=24 * 14, description="B1 item 7; the kommun's default if left out"
    )
    answer_deadline_hours: int | None = Field(
        default=None, gt=0, le=24 * 30, description="P5.3; the kommun's default if left out"
    )
    hours_per_week: float = Field(description="B1 item 8, P3.2: estimated hours a week")

    @field_validator("handle")
    @classmethod
    def _p42(cls, value: str, info: ValidationInfo) -> str:
        kommun = _kommun(info)
        problem = handle_problem(value, kommun.kommun.handle) if kommun else None
        if problem:
            raise rule_error(
                "P4.2",
                f"Kontonamnet {value!r} förkortar kommunens namn; skriv ut det "
                f"({kommun.kommun.handle.accepted[0]!r}).",  # type: ignore[union-attr]
                f"the account name {value!r} {problem}",
            )
        return value

    @field_validator("url")
    @classmethod
    def _address(cls, value: HttpUrl, info: ValidationInfo) -> HttpUrl:
        platform = info.data.get("platform")
        if platform is None:
            return value  # the platform's own error says what is wrong
        problem = host_problem(platform, str(value))
        if problem:
            raise rule_error(
                "B1", f"Adressen stämmer inte med plattformen: {problem}.", f"the address {problem}"
            )
        if platform == "facebook" and (problem := facebook_page_problem(str(value))):
            raise rule_error(
                "P4.3",
                "Facebooksidan ska ha en egen adress som kan läsas utan inloggning "
                "(https://www.facebook.com/<sidnamn>).",
                f"the address {problem}",
            )
        return value

    @field_validator("department")
    @classmethod
    def _department(cls, value: str, info: ValidationInfo) -> str:
        kommun = _kommun(info)
        if kommun and kommun.organisation and value not in kommun.organisation:
            known = ", ".join(sorted(kommun.organisation))
            raise rule_error(
                "P10.1",
                f"Okänd förvaltning {value!r}; kända: {known}.",
                f"unknown department {value!r}; known: {known}",
            )
        return value

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str, info: ValidationInfo) -> str:
        kommun, department = _kommun(info), info.data.get("department")
        if not kommun or department not in kommun.organisation:
            return value
        units = kommun.organisation[department].units
        if units and value not in units:
            known = ", ".join(sorted(units))
            raise rule_error(
                "P10.1",
                f"Enheten {value!r} finns inte i {department}; kända: {known}.",
                f"unit {value!r} is not in {department}; known: {known}",
            )
        return value

    @field_validator("administrators")
    @classmethod
    def _p31(cls, value: list[Administrator]) -> list[Administrator]:
        if len(value) < MIN_ADMINISTRATORS:
            raise rule_error(
                "P3.1",
                "Kontot måste ha minst två administratörer som kan logga in.",
                "an account needs at least two administrators who can log in",
            )
        if len(value) > MAX_ADMINISTRATORS_IN_PLAN:
            raise rule_error(
                "B1",
                "Planen tar upp högst tre administratörer.",
                "the plan lists at most three administrators",
            )
        if len({a.key for a in value}) < len(value):
            raise rule_error(
                "P3.1",
                "Samma person står som administratör flera gånger; det behövs två olika personer.",
                "the same person is listed twice; two different people are needed",
            )
        return value

    @field_validator("hours_per_week")
    @classmethod
    def _p32(cls, value: float) -> float:
        if not 0 < value <= 40:
            raise rule_error(
                "P3.2",
                "Uppskatta tiden per vecka (mer än 0, högst 40 timmar).",
                "estimate the hours per week (more than 0, at most 40)",
            )
        return value

    @model_validator(mode="after")
    def _deadlines(self, info: ValidationInfo) -> "ActivityPlan":
        kommun = _kommun(info)
        if kommun is None:
            return self
        # The kommun's defaults fill in what the plan leaves out (B1 item 7, P5.3).
        updates: dict[str, Any] = {}
        if self.removal_deadline_hours is None:
            updates["removal_deadline_hours"] = kommun.deadlines.removal_hours
        if self.answer_deadline_hours is None:
            updates["answer_deadline_hours"] = kommun.deadlines.answer_hours
        return self.model_copy(update=updates) if updates else self


def parse_plan(raw: Any, kommun: KommunConfig, today: date) -> ActivityPlan:
    """Validate a submitted plan; RuleViolations lists every failing field."""
    try:
        return ActivityPlan.model_validate(raw, context={"kommun": kommun, "today": today})
    except ValidationError as exc:
        raise violations_of(exc) from None
