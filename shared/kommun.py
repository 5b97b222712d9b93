"""The kommun's own configuration: names, contacts and deadlines.

Nothing about a particular kommun lives in code; `shared/reference/kommun.yaml` holds the
reference values of the policy this software was built from; another kommun ships its own.
"""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError

Language = Literal["sv", "en"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HandleNaming(_Config):
    """P4.2: how the kommun's name may appear in an account name (handle)."""

    accepted: list[str] = Field(
        min_length=1, description="Full spellings of the name in a handle, run together."
    )
    short: str = Field(min_length=1, description="The place name alone, which may start a handle.")
    abbreviations: list[str] = Field(
        default_factory=list, description="Shortenings of 'kommun' that may not follow `short`."
    )


class KommunIdentity(_Config):
    """Who the kommun is: its name, web site and how its name appears in handles."""

    name: str = Field(min_length=2, description="Official name, as the kommun writes it.")
    web_url: HttpUrl
    handle: HandleNaming


class Contact(_Config):
    """A role's mailbox: who is told when the policy says that role must know."""

    name: str
    email: EmailStr
    language: Language = "sv"


class Person(_Config):
    name: str
    email: EmailStr


class Unit(_Config):
    head: Person  # enhetschef


class Department(_Config):
    head: Person  # förvaltningschef
    units: dict[str, Unit] = Field(default_factory=dict)


class Registry(_Config):
    review_interval_days: int = Field(
        default=365, gt=0, description="An activity plan older than this needs review."
    )
    activation_grace_days: int = Field(
        default=14,
        ge=0,
        description="Days after approval to deposit the credentials (P3.5) and confirm the "
        "profile (P4.1) before the approved account is reported noncompliant.",
    )


class Deadlines(_Config):
    removal_hours: int = Field(default=48, gt=0, description="B1.7 removal deadline default.")
    answer_hours: int = Field(default=24, gt=0, description="P5.3 recommended answer time.")


class KommunConfig(_Config):
    kommun: KommunIdentity
    language: Language = "sv"
    # Keyed by role: informationsansvarig, sakerhetssamordnare, diarium, …
    contacts: dict[str, Contact] = Field(default_factory=dict)
    deadlines: Deadlines = Deadlines()
    registry: Registry = Registry()
    # Departments (förvaltningar) and their units, with their heads: who signs a plan
    # for a department, and who takes over an unattended account (P5.6).
    organisation: dict[str, Department] = Field(default_factory=dict)

    def contact(self, role: str) -> Contact:
        try:
            return self.contacts[role]
        except KeyError:
            raise KommunConfigError(
                f"contacts.{role}: no contact configured for this role"
            ) from None


class KommunConfigError(ValueError):
    pass


def load_kommun_config(path: Path) -> KommunConfig:
    """Read and validate the file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KommunConfigError(f"KOMMUN_CONFIG: file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise KommunConfigError(f"KOMMUN_CONFIG: {path} is not valid YAML: {exc}") from None
    try:
        return KommunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise KommunConfigError(f"KOMMUN_CONFIG: {path}: {problems}") from None
