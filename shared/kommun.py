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
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
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


_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

# Who is told, named by what the event and the kommun's directory say (issue 11):
#   contact:<role>        the role's mailbox in `contacts` (informationsansvarig, …)
#   department_head       the förvaltningschef of the account's department (organisation)
#   unit_head             the enhetschef of the account's unit (organisation)
#   administrators        the account's administrators (from registry events, B1 item 5)
#   on_duty               the administrators present, a substitute for one away (P5.1)
#   substitute            the absent administrator's substitute (admin.absent/returned)
#   other_administrators  the absent administrator's fellow administrators
#   escalation:<level>    the event's escalate_to of that level (account.unattended, P5.6)
#   notify_list           the people the event names to tell (moderation.escalated, P5.8)
#   case_owners           the case's owners (sla.*), the administrators (account.unsupervised)
#   forwarded_to          the case officer a question was forwarded to (P5.4)
SELECTORS = (
    "department_head",
    "unit_head",
    "administrators",
    "on_duty",
    "substitute",
    "other_administrators",
    "notify_list",
    "case_owners",
    "forwarded_to",
)
SELECTOR_PREFIXES = ("contact:", "escalation:")


def _check_selector(selector: str) -> str:
    if selector in SELECTORS or any(
        selector.startswith(p) and selector[len(p) :] for p in SELECTOR_PREFIXES
    ):
        return selector
    raise ValueError(
        f"unknown recipient {selector!r}: one of {', '.join(SELECTORS)}, contact:<role>, "
        "escalation:<level>"
    )


Selector = Annotated[str, AfterValidator(_check_selector)]


class Route(_Config):
    """Who hears of one kind of event, and how."""

    to: list[Selector] = Field(min_length=1)
    then: list[list[Selector]] = Field(
        default_factory=list,
        description="Further levels, each told when the one before has not acknowledged "
        "within `acknowledge_within_minutes` (P5.6).",
    )
    acknowledge: bool = Field(
        default=False, description="Needs acknowledgement: the message carries a link."
    )
    urgent: bool = Field(
        default=False, description="Sent at once, any hour: quiet hours do not hold it (P5.8)."
    )
    webhooks: list[str] = Field(
        default_factory=list, description="Also posted to these webhooks (names in `webhooks`)."
    )


def _default_routes() -> dict[str, Route]:
    def to(*selectors: str, **more: object) -> Route:
        return Route.model_validate({"to": list(selectors)} | more)

    administrators = to("administrators")
    return {
        "account.created": to("department_head", "contact:informationsansvarig"),  # P2.1, P3.6
        "account.approved": administrators,
        "account.activated": administrators,
        "account.closed": administrators,
        "account.noncompliant": to("contact:informationsansvarig", "administrators"),  # P3.5
        "admin.absent": to("substitute", "other_administrators"),  # P5.1
        "admin.returned": to("substitute", "other_administrators"),
        "account.unattended": to(  # P3.3, P5.6: enhetschef, then förvaltningschef
            "escalation:1", then=[["escalation:2"]], acknowledge=True
        ),
        "comment.flagged": to("on_duty"),  # P5.1
        "moderation.escalated": to(  # P5.8: at once, any hour
            "notify_list", then=[["department_head"]], acknowledge=True, urgent=True
        ),
        "sla.warning": to("case_owners"),
        "sla.breached": to("case_owners", "unit_head"),
        "account.unsupervised": to("case_owners"),  # P3.3
        "moderation.decided": to("forwarded_to"),  # P5.4: only a forwarded question
    }


# The event types notify subscribes to and can route.
ROUTED_EVENTS = tuple(_default_routes())


class QuietHours(_Config):
    """Local time in Sweden; may pass midnight (22:00–07:00)."""

    start: str = Field(pattern=_CLOCK, description="HH:MM")
    end: str = Field(pattern=_CLOCK, description="HH:MM")


class Recipient(_Config):
    """One person's way of reading, by e-mail address."""

    language: Language | None = Field(default=None, description="sv or en; else the kommun's.")
    quiet_hours: QuietHours | None = Field(
        default=None, description="Non-urgent messages wait, gathered into one digest."
    )
    email: bool = Field(default=True, description="Told by e-mail.")
    webhook: str | None = Field(default=None, description="Also told on this webhook.")


class Webhook(_Config):
    url: HttpUrl
    format: Literal["json", "teams"] = Field(
        default="json", description="Kanalvakt's signed JSON, or a Microsoft Teams card."
    )
    secret: str = Field(
        min_length=1,
        description="Name of the signing key in the webhook secrets file (never the key).",
    )


class Retry(_Config):
    max_attempts: int = Field(default=8, ge=1)
    first_delay_seconds: float = Field(default=30, gt=0)
    max_delay_seconds: float = Field(default=3600, gt=0)


class Notify(_Config):
    """Who hears what, and how (P3.3, P3.5, P3.6, P5.1, P5.4, P5.6, P5.8)."""

    sender: str = Field(
        default="", description="From: of e-mail, e.g. `Kanalvakt <kanalvakt@kommun.se>`."
    )
    links_base_url: HttpUrl | None = Field(
        default=None, description="Where staff open Kanalvakt: links in messages start here."
    )
    acknowledge_within_minutes: int = Field(
        default=60, gt=0, description="Then the next level is told (P5.6)."
    )
    acknowledge_link_valid_hours: int = Field(default=72, gt=0)
    routes: dict[str, Route] = Field(
        default_factory=_default_routes,
        description="Each event type's route, over the default table: a route given "
        "replaces that event type's row; `null` tells nobody of it.",
    )
    recipients: dict[EmailStr, Recipient] = Field(default_factory=dict)
    webhooks: dict[str, Webhook] = Field(default_factory=dict)
    retry: Retry = Retry()

    @field_validator("routes", mode="before")
    @classmethod
    def _over_defaults(cls, given: object) -> object:
        if not isinstance(given, dict):
            return given
        if unknown := sorted(set(given) - set(ROUTED_EVENTS)):
            raise ValueError(
                f"no route for {unknown}: notify routes only {', '.join(ROUTED_EVENTS)}"
            )
        merged: dict[str, object] = dict(_default_routes())
        for event_type, route in given.items():
            if route is None:
                merged.pop(event_type, None)
            else:
                merged[event_type] = route
        return merged

    @model_validator(mode="after")
    def _webhooks_named(self) -> "Notify":
        named = [w for r in self.routes.values() for w in r.webhooks]
        named += [r.webhook for r in self.recipients.values() if r.webhook]
        if unknown := sorted(set(named) - set(self.webhooks)):
            raise ValueError(f"webhooks not configured under notify.webhooks: {unknown}")
        return self


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
    notify: Notify = Notify()
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
