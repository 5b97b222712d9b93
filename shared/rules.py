"""A broken policy rule, said so that staff can act on it: which field, which rule (by
its ID in POLICY.md), and why, in Swedish and in English.

Domain code raises RuleViolations; the HTTP layer answers with every one of them: 422,
or 403 (NotPermitted: not this person or role) or 409 (Conflict: not in this state).
"""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Violation:
    field: str
    rule: str
    sv: str
    en: str

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "rule": self.rule, "message": {"sv": self.sv, "en": self.en}}


class RuleViolations(Exception):
    """The request breaks rules: 422, every violation listed."""

    status = 422

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.en} ({v.rule})" for v in violations))
        self.violations = violations


class NotPermitted(RuleViolations):
    """The caller may not do this under the rule (403): not the role, not the person."""

    status = 403


class Conflict(RuleViolations):
    """Not in the account's present state (409): already signed, not yet approved."""

    status = 409


def violation(
    field: str, rule: str, sv: str, en: str, kind: type[RuleViolations] = RuleViolations
) -> RuleViolations:
    return kind([Violation(field, rule, sv, en)])


def rule_error(rule: str, sv: str, en: str) -> PydanticCustomError:
    """For a pydantic validator: the error carries the rule and both languages."""
    return PydanticCustomError("policy", "{en}", {"rule": rule, "sv": sv, "en": en})


# Swedish for pydantic's own error types, so that a type error reads well to staff too.
PYDANTIC_SV: dict[str, str] = {
    "missing": "Uppgiften saknas.",
    "extra_forbidden": "Fältet finns inte i planen.",
    "string_too_short": "Texten är för kort.",
    "string_too_long": "Texten är för lång.",
    "too_short": "För få uppgifter.",
    "too_long": "För många uppgifter.",
    "value_error": "Ogiltigt värde.",
    "url_parsing": "Ogiltig webbadress.",
    "url_scheme": "Webbadressen ska börja med https://.",
    "literal_error": "Värdet är inte ett av de tillåtna.",
    "enum": "Värdet är inte ett av de tillåtna.",
    "int_parsing": "Ska vara ett heltal.",
    "float_parsing": "Ska vara ett tal.",
    "greater_than": "Värdet är för litet.",
    "greater_than_equal": "Värdet är för litet.",
    "less_than_equal": "Värdet är för stort.",
    "date_from_datetime_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "date_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "datetime_parsing": "Ska vara en tidpunkt med tidszon.",
    "timezone_aware": "Tidpunkten ska ha en tidszon.",
    "string_pattern_mismatch": "Formatet stämmer inte.",
    "json_invalid": "Innehållet är inte giltig JSON.",
    "model_attributes_type": "Ska vara ett objekt.",
    "list_type": "Ska vara en lista.",
    "string_type": "Ska vara text.",
    "bool_parsing": "Ska vara sant eller falskt.",
}


def _field(loc: Any) -> str:
    """The field's path, without the `body` FastAPI puts first for a request body."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


def violation_of(err: Any) -> Violation:
    """One pydantic error as a violation: a policy rule where a validator named one."""
    ctx = err.get("ctx") or {}
    if err["type"] == "policy":
        return Violation(_field(err["loc"]), ctx["rule"], ctx["sv"], ctx["en"])
    return Violation(
        _field(err["loc"]), "input", PYDANTIC_SV.get(err["type"], "Ogiltigt värde."), err["msg"]
    )


def violations_of(exc: ValidationError) -> RuleViolations:
    return RuleViolations([violation_of(err) for err in exc.errors(include_url=False)])
