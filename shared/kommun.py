"""The kommuner's own configuration: names, contacts and deadlines, one file each.

Nothing about a particular kommun lives in code; `shared/reference/kommun.yaml` holds the
reference values of the policy this software was built from; another kommun ships its own.
One deployment serves every kommun whose file is in its configuration directory
(`Kommuner`), their data kept apart by the kommun's `id` (README, "Several kommuner").
"""

from collections.abc import Iterator
from pathlib import Path
from string import Formatter
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
)

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


# A kommun's id: in NATS subjects, URLs and every stored document. One NATS token, so
# no dots, wildcards or spaces; lower case so that it is never spelled two ways.
KOMMUN_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
KommunId = Annotated[str, Field(pattern=KOMMUN_ID_PATTERN, min_length=2, max_length=40)]


class KommunIdentity(_Config):
    """Who the kommun is: its id, name, web site and how its name appears in handles."""

    id: KommunId = Field(
        description="Short, stable and lower case: it scopes the kommun's data, "
        "events (`account.created.<id>`), tokens (the `kommun` claim) and public page. "
        "Never change it once data exists."
    )
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


class Moderation(_Config):
    """How moderation reads and handles comments for this kommun (P5.2–P5.10, L2)."""

    word_lists: Path | None = Field(
        default=None,
        description="A YAML file of word lists and patterns per category, replacing the "
        "shipped Swedish ones; relative to this kommun's file.",
    )
    warn_before_hours: float = Field(
        default=4, ge=0, description="sla.warning this long before a deadline (B1.7, P5.3)."
    )
    meta_pages: dict[str, str] = Field(
        default_factory=dict,
        description="Facebook/Instagram Page ids and the account name (handle) each is: "
        "how a Meta webhook finds the account.",
    )


class Diarium(_Config):
    """P10.3, L5: how the kommun numbers its diary entries."""

    number_format: str = Field(
        default="KS {year}/{seq:06d}",
        description="Python format of a diary number from `year` and `seq` (sequential "
        "without gaps within a year), e.g. `KS {year}/{seq:06d}` gives KS 2026/000123.",
    )

    @field_validator("number_format")
    @classmethod
    def _formats(cls, value: str) -> str:
        fields = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        if fields != {"year", "seq"}:
            raise ValueError(
                "must use both {year} and {seq} and nothing else, e.g. 'KS {year}/{seq:06d}' "
                f"(P10.3: numbers restart each year), not {sorted(fields)}"
            )
        try:
            value.format(year=2026, seq=1)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise ValueError(f"cannot format year 2026, seq 1: {exc}") from None
        return value


RecordKindName = Literal["account", "post", "comment"]
OriginName = Literal["inkommen", "upprättad"]
PlatformStateName = Literal["published", "edited", "hidden", "removed", "deleted"]


class RetentionRule(_Config):
    """One decided retention rule (gallringsbeslut, P10.2, L6): records it matches go once
    older than `after_days`. An empty list matches any value of that field."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$", description="Stable rule id.")
    decision: str = Field(
        min_length=1,
        description="The decision it rests on, e.g. the dokumenthanteringsplan item "
        "(`DHP KS 2025/88, 4.3`).",
    )
    kinds: list[RecordKindName] = Field(default_factory=list)
    categories: list[str] = Field(
        default_factory=list,
        description="Moderation categories (e.g. advertising); `none` for records no "
        "decision categorised.",
    )
    accounts: list[str] = Field(default_factory=list, description="Account ids.")
    origins: list[OriginName] = Field(default_factory=list)
    states: list[PlatformStateName] = Field(default_factory=list)
    after_days: int = Field(gt=0, description="Age (days since written) before it may go.")


class MinorImportance(_Config):
    """P10.7, L5: records of obviously minor importance are kept in order, not registered."""

    without_words: bool = Field(
        default=True,
        description="A comment with no letter or digit (a reaction, an emoji, a sticker).",
    )
    texts: list[str] = Field(
        default_factory=list,
        description="Whole comments of minor importance, compared without case and "
        "surrounding punctuation, e.g. `tack`.",
    )


class Snapshots(_Config):
    """P10.5, L8: PDF/A snapshots of each account."""

    interval_days: int = Field(
        default=365, gt=0, le=366, description="Yearly by default; 182 for every six months."
    )
    recent_days: int = Field(
        default=90, gt=0, description="How far back a snapshot shows posts and comments."
    )
    max_items: int = Field(default=1000, gt=0, description="At most this many posts and comments.")
    changes: list[str] = Field(
        default_factory=lambda: ["name", "url", "purpose", "department", "unit", "platform"],
        description="`account.updated` changes that make a snapshot (a larger change), "
        "matched by the change's last part: `purpose` matches `plan.purpose`.",
    )


class Archive(_Config):
    """The archive's rules for this kommun: diarium, retention, minor records, snapshots."""

    diarium: Diarium = Diarium()
    retention: list[RetentionRule] = Field(default_factory=list)
    minor_importance: MinorImportance = MinorImportance()
    snapshots: Snapshots = Snapshots()

    @field_validator("retention")
    @classmethod
    def _unique_ids(cls, rules: list[RetentionRule]) -> list[RetentionRule]:
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            raise ValueError(f"retention rule ids must be unique: {sorted(ids)}")
        return rules


class KommunConfig(_Config):
    kommun: KommunIdentity
    language: Language = "sv"
    public_hosts: list[str] = Field(
        default_factory=list,
        description="Host names whose /public/accounts is this kommun's list (P10.8); "
        "/public/{id}/accounts works on any host.",
    )
    # Keyed by role: informationsansvarig, sakerhetssamordnare, diarium, …
    contacts: dict[str, Contact] = Field(default_factory=dict)
    deadlines: Deadlines = Deadlines()
    registry: Registry = Registry()
    moderation: Moderation = Moderation()
    archive: Archive = Archive()
    # Departments (förvaltningar) and their units, with their heads: who signs a plan
    # for a department, and who takes over an unattended account (P5.6).
    organisation: dict[str, Department] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.kommun.id

    def contact(self, role: str) -> Contact:
        try:
            return self.contacts[role]
        except KeyError:
            raise KommunConfigError(
                f"contacts.{role}: no contact configured for this role"
            ) from None


class KommunConfigError(ValueError):
    pass


class UnknownKommun(LookupError):
    """No kommun with this id is served here."""

    def __init__(self, kommun: str) -> None:
        super().__init__(f"kommun: {kommun!r} is not served by this deployment")
        self.kommun = kommun


class Kommuner:
    """Every kommun one deployment serves, by id, and the default one, if any.

    The default is where a token without a `kommun` claim and the host-less public list
    belong: the only kommun of a one-kommun deployment, or the one DEFAULT_KOMMUN names.
    A deployment of several kommuner without a default refuses such tokens (README)."""

    def __init__(self, configs: list[KommunConfig], default: str = "") -> None:
        self._by_id = {c.id: c for c in configs}
        if not self._by_id:
            raise KommunConfigError("KOMMUN_CONFIG: no kommun configured")
        if default and default not in self._by_id:
            raise KommunConfigError(
                f"DEFAULT_KOMMUN: {default!r} is none of the configured kommuner "
                f"({', '.join(sorted(self._by_id))})"
            )
        self.default = default or (configs[0].id if len(configs) == 1 else "")

    def __iter__(self) -> Iterator[KommunConfig]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._by_id)

    def get(self, kommun: str) -> KommunConfig:
        try:
            return self._by_id[kommun]
        except KeyError:
            raise UnknownKommun(kommun) from None

    def by_host(self, host: str) -> KommunConfig | None:
        """The kommun whose public list this host name serves (`public_hosts`)."""
        name = host.split(":", 1)[0].casefold()
        return next((c for c in self if name in (h.casefold() for h in c.public_hosts)), None)


def load_kommun_config(path: Path) -> KommunConfig:
    """Read and validate one kommun's file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KommunConfigError(f"KOMMUN_CONFIG: file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise KommunConfigError(f"KOMMUN_CONFIG: {path} is not valid YAML: {exc}") from None
    try:
        config = KommunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise KommunConfigError(f"KOMMUN_CONFIG: {path}: {problems}") from None
    word_lists = config.moderation.word_lists
    if word_lists is not None and not word_lists.is_absolute():
        # Relative to the kommun's own file, wherever the service runs from.
        moderation = config.moderation.model_copy(update={"word_lists": path.parent / word_lists})
        config = config.model_copy(update={"moderation": moderation})
    return config


def config_files(path: Path) -> list[Path]:
    """The kommun files KOMMUN_CONFIG names: the file, or a directory's *.yaml (or *.yml)
    in name order; others (a README, ConfigMap's `..data`) are passed over."""
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise KommunConfigError(f"KOMMUN_CONFIG: {path} holds no kommun file (*.yaml)")
    return files


def load_kommuner(path: Path, default: str = "") -> Kommuner:
    """Every kommun of KOMMUN_CONFIG (a file or a directory of files); two files with one
    id are refused, naming both."""
    configs: list[KommunConfig] = []
    seen: dict[str, Path] = {}
    hosts: dict[str, Path] = {}
    for file in config_files(path):
        config = load_kommun_config(file)
        if config.id in seen:
            raise KommunConfigError(
                f"KOMMUN_CONFIG: {file}: kommun.id {config.id!r} is also the id in "
                f"{seen[config.id]}"
            )
        seen[config.id] = file
        for host in (h.casefold() for h in config.public_hosts):
            if host in hosts:  # one host, one kommun's public list
                raise KommunConfigError(
                    f"KOMMUN_CONFIG: {file}: public_hosts {host!r} is also in {hosts[host]}"
                )
            hosts[host] = file
        configs.append(config)
    return Kommuner(configs, default)
