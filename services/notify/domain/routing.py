"""Who hears of an event (issue 11's table; the kommun's `notify.routes`), and the
notifications that tell them.

A route names its recipients by selectors (shared/kommun.py, above SELECTORS), resolved
here against the event, notify's directory (domain.directory) and the kommun's role
directory (contacts, organisation). Each level is a list of Persons, one per e-mail
address, each in their language: `notify.recipients[email].language`, else the
contact's with that address, else the kommun's.

Nothing is lost: a level whose selectors find nobody (no administrators; the account not
yet in the directory) goes to the informationsansvarig instead, and the message says so.
The one deliberate silence: a moderation.decided that forwarded nothing has nobody to
tell (`forwarded_to`, P5.4).

An event whose route needs what the directory does not know yet (its account's events
are on their way on another consumer) is not routed with a guess: it is kept `Waiting`
and routed as soon as the directory knows, or with the fallback after a short grace
(`waits_for`, handlers.routing).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.notify.domain.acks import Escalation, sign
from services.notify.domain.delivery import quiet_until
from services.notify.domain.directory import Account, on_duty, person, unique
from services.notify.domain.messages import acknowledge_url, context_of, render
from services.notify.domain.notifications import (
    Channel,
    Notification,
    Person,
    Status,
    notification_id,
)
from shared.events import (
    AccountRef,
    AccountUnattended,
    AccountUnsupervised,
    AdminAbsent,
    AdminReturned,
    Event,
    ModerationDecided,
    ModerationEscalated,
    SlaBreached,
    SlaWarning,
)
from shared.kommun import KommunConfig, Language, Recipient, Route

FALLBACK_ROLE = "informationsansvarig"
FALLBACK = f"contact:{FALLBACK_ROLE}"
# Selectors answered from the directory: the account's people (known once an event
# carrying the plan's administrators came), or its department (known once any account
# event came) when the event does not carry it. Routing waits briefly for what is missing.
PEOPLE_SELECTORS = frozenset({"administrators", "on_duty", "other_administrators"})
ORGANISATION_SELECTORS = frozenset({"department_head", "unit_head"})
DIRECTORY_SELECTORS = PEOPLE_SELECTORS | ORGANISATION_SELECTORS
# Who acknowledged an account.unattended escalation that account.attended closed (P3.3).
ATTENDED = "account.attended"


@dataclass(frozen=True)
class Routed:
    """An event's recipients by level (level 1 told now, the others if nobody
    acknowledges, P5.6), and how: webhooks, acknowledgement, urgency, the message's values."""

    kommun: str
    event_id: str
    event_type: str
    event_time: datetime
    about: str  # what staff see it as: the account's name, the case id
    levels: tuple[tuple[Person, ...], ...]
    webhooks: tuple[str, ...]
    acknowledge: bool
    urgent: bool
    context: dict[str, str]


def account_ids(event: Event) -> list[str]:
    """The accounts an event is about (an absence may span several)."""
    if isinstance(event, AdminAbsent | AdminReturned):
        return list(dict.fromkeys(event.data.account_ids))
    account_id = getattr(event.data, "account_id", "")
    return [account_id] if account_id else []


def needs_directory(route: Route) -> bool:
    return any(s in DIRECTORY_SELECTORS for level in (route.to, *route.then) for s in level)


def waits_for(event: Event, rule: Route | None, accounts: Mapping[str, Account]) -> list[str]:
    """The ids of the accounts the event's route needs from the directory (`accounts`,
    by id, as found) that it cannot answer yet: never seen, or seen only through events
    without the administrators (account.approved before its account.created). An account
    routing already waited for in vain (`missing_since`) is not waited for again: its
    events go to the fallback at once (P3.3). An urgent route (P5.8) never waits: told
    at once with what the directory has, the fallback for what it has not."""
    if rule is None or rule.urgent:
        return []
    selectors = {s for level in (rule.to, *rule.then) for s in level}
    people = bool(selectors & PEOPLE_SELECTORS)
    organisation = bool(selectors & ORGANISATION_SELECTORS) and not isinstance(
        event.data, AccountRef
    )
    if not people and not organisation:
        return []
    missing: list[str] = []
    for account_id in account_ids(event):
        account = accounts.get(account_id)
        if account is not None and account.missing_since is not None:
            continue
        if (
            account is None
            or (people and not account.administrators_known)
            or (organisation and not account.known)
        ):
            missing.append(account_id)
    return missing


@dataclass(frozen=True)
class Waiting:
    """An event whose routing waits for the directory (one per event: its id). Routed
    once: by whoever claims it first (a conditional save), the claim running out if that
    router dies, so another takes it over."""

    id: str  # the event's id
    kommun: str
    event_type: str
    account_ids: tuple[str, ...]
    since: datetime  # when notify took the event: the grace counts from here
    # The event as received, until routed; then "" (its values are kept no longer).
    event: str = ""
    claimed_until: datetime | None = None
    routed_at: datetime | None = None
    routed_by: str = ""  # "directory", "fallback" or "unrouted" (no route any more)

    @property
    def open(self) -> bool:
        return self.routed_at is None


def waiting(event: Event, now: datetime) -> Waiting:
    return Waiting(
        id=event.id,
        kommun=event.kommun,
        event_type=event.nats_subject,
        account_ids=tuple(account_ids(event)),
        since=now,
        event=event.model_dump_json(),
    )


def gave_up(item: Waiting, now: datetime, grace: timedelta) -> bool:
    """The grace is over: the event goes to whom the directory gives, the fallback for
    the rest (P3.3)."""
    return now - item.since >= grace


def claimable(item: Waiting, now: datetime) -> bool:
    return item.open and (item.claimed_until is None or item.claimed_until <= now)


def claim(item: Waiting, now: datetime, lease: timedelta) -> Waiting:
    return replace(item, claimed_until=now + lease)


def routed_waiting(item: Waiting, now: datetime, how: str) -> Waiting:
    return replace(item, event="", routed_at=now, routed_by=how, claimed_until=None)


def closed_by_attendance(
    escalation: Escalation, account_id: str, attended_at: datetime | None
) -> bool:
    """P3.3, P5.6: an open account.unattended escalation of this account that began no
    later than someone attended the account again needs no acknowledgement: the ladder
    stops (account.attended, whichever of the two notify hears first)."""
    return (
        attended_at is not None
        and not escalation.acknowledged
        and escalation.event_type == "account.unattended"
        and escalation.context.get("account_id") == account_id
        and escalation.opened_at <= attended_at
    )


# Resolving selectors ------------------------------------------------------------------


def _department_of(event: Event, accounts: Sequence[Account]) -> tuple[str, str]:
    if isinstance(event.data, AccountRef):
        return event.data.department, event.data.unit
    for account in accounts:
        if account.known:
            return account.department, account.unit
    return "", ""


def _contact(config: KommunConfig, role: str, why: str) -> list[Person]:
    contact = config.contacts.get(role)
    if contact is None:
        return []
    return [Person(contact.name, str(contact.email), contact.language, why)]


def _select(
    selector: str, event: Event, accounts: Sequence[Account], config: KommunConfig, now: datetime
) -> list[Person] | None:
    """The people a selector names for this event; None when it does not apply (a
    decision that forwarded nothing), [] when it applies but finds nobody."""
    if selector.startswith("contact:"):
        return _contact(config, selector.removeprefix("contact:"), selector)
    if selector in ("department_head", "unit_head"):
        department_name, unit_name = _department_of(event, accounts)
        department = config.organisation.get(department_name)
        if department is None:
            return []
        if selector == "department_head":
            return [person(department.head, selector)]
        unit = department.units.get(unit_name)
        return [person(unit.head, selector)] if unit is not None else []
    if selector == "administrators":
        return [_why(p, selector) for a in accounts for p in a.administrators]
    if selector == "on_duty":  # P5.1
        return [_why(p, selector) for a in accounts for p in on_duty(a, now)]
    if selector == "substitute":
        if isinstance(event, AdminAbsent | AdminReturned):
            return [person(event.data.substitute, selector)] if event.data.substitute else []
        return [
            _why(absence.substitute, selector)
            for a in accounts
            for absence in a.absences
            if absence.substitute is not None and absence.covers(now)
        ]
    if selector == "other_administrators":
        if not isinstance(event, AdminAbsent | AdminReturned):
            return []
        away = str(event.data.administrator.email).casefold()
        return [
            _why(p, selector)
            for a in accounts
            for p in a.administrators
            if p.email.casefold() != away
        ]
    if selector.startswith("escalation:"):  # P5.6: enhetschef, then förvaltningschef
        if not isinstance(event, AccountUnattended):
            return []
        level = selector.removeprefix("escalation:")
        targets = event.data.escalate_to
        return [person(t.person, selector) for t in targets if str(t.level) == level]
    if selector == "notify_list":  # P5.8
        if not isinstance(event, ModerationEscalated):
            return []
        return [person(p, selector) for p in event.data.notify]
    if selector == "case_owners":
        if isinstance(event, SlaWarning | SlaBreached):
            return [person(p, selector) for p in event.data.owners]
        if isinstance(event, AccountUnsupervised):
            return [person(p, selector) for p in event.data.administrators]
        return []
    if selector == "forwarded_to":  # P5.4
        if not isinstance(event, ModerationDecided):
            return []
        forwarded = event.data.forwarded_to
        return [person(forwarded, selector)] if forwarded is not None else None
    return []


def _why(p: Person, why: str) -> Person:
    return Person(p.name, p.email, p.language, why)


def _recipient(config: KommunConfig, email: str) -> Recipient | None:
    key = email.casefold()
    return next((r for a, r in config.notify.recipients.items() if a.casefold() == key), None)


def language_of(config: KommunConfig, email: str) -> Language:
    """The recipient's own setting, else the language of the contact with that address,
    else the kommun's."""
    recipient = _recipient(config, email)
    if recipient is not None and recipient.language is not None:
        return recipient.language
    key = email.casefold()
    for contact in config.contacts.values():
        if str(contact.email).casefold() == key:
            return contact.language
    return config.language


def _level(
    selectors: Sequence[str],
    event: Event,
    accounts: Sequence[Account],
    config: KommunConfig,
    now: datetime,
) -> tuple[Person, ...] | None:
    """One level's people, each once; the informationsansvarig when its selectors found
    nobody; None when none of them applies to the event."""
    found = [_select(s, event, accounts, config, now) for s in selectors]
    if all(f is None for f in found):
        return None
    people = unique([p for f in found if f for p in f])
    if not people:
        missing = ",".join(s for s, f in zip(selectors, found, strict=True) if f is not None)
        people = tuple(_contact(config, FALLBACK_ROLE, f"fallback:{missing}"))
    return tuple(Person(p.name, p.email, language_of(config, p.email), p.why) for p in people)


def _about(event: Event, context: Mapping[str, str]) -> str:
    return context.get("case_id") or context.get("account") or event.subject


def route(
    event: Event,
    rule: Route | None,
    accounts: Sequence[Account],
    config: KommunConfig,
    now: datetime,
) -> Routed | None:
    """Who hears of `event` by the kommun's route for it; None when nobody does (the
    kommun routes it nowhere, or a decision forwarded nothing, P5.4)."""
    if rule is None:
        return None
    first = _level(rule.to, event, accounts, config, now)
    if first is None:
        return None
    further = [_level(selectors, event, accounts, config, now) for selectors in rule.then]
    levels = (first, *(level or () for level in further))
    context = context_of(event, accounts, config)
    ids = account_ids(event)
    if ids and not any(a.known for a in accounts):
        context["account_known"] = "no"
    if len(ids) > 1:
        named = [a.name for a in accounts if a.known]
        if named:
            context["accounts"] = ", ".join(named)
    if rule.acknowledge:
        context["acknowledge_within"] = str(config.notify.acknowledge_within_minutes)
    return Routed(
        kommun=event.kommun,
        event_id=event.id,
        event_type=event.nats_subject,
        event_time=event.time,
        about=_about(event, context),
        levels=levels,
        webhooks=tuple(rule.webhooks),
        acknowledge=rule.acknowledge,
        urgent=rule.urgent,
        context=context,
    )


def escalation_of(routed: Routed, now: datetime, config: KommunConfig) -> Escalation:
    """The escalation that waits for acknowledgement (P5.6, P5.8): every level's people
    as they were when the event came; the next level is told if nobody acknowledges
    within the kommun's time, counted from when level 1 is first told: the end of their
    quiet hours when every one of them has quiet hours now (their messages held, P5.1),
    else now. An urgent route (P5.8) is never held, and a route's own webhooks are told
    at once: both count from now."""
    within = timedelta(minutes=config.notify.acknowledge_within_minutes)
    told: list[datetime] = []
    if routed.urgent or routed.webhooks:
        told.append(now)
    for who in routed.levels[0] if routed.levels else ():
        prefs = _recipient(config, who.email)
        if prefs is None:
            told.append(now)  # e-mailed at once: no quiet hours of their own
        elif prefs.email or prefs.webhook:  # one told by no channel is never told
            told.append(now if routed.urgent else quiet_until(prefs.quiet_hours, now) or now)
    start = max(now, min(told, default=now))
    return Escalation(
        id=routed.event_id,
        kommun=routed.kommun,
        event_id=routed.event_id,
        event_type=routed.event_type,
        about=routed.about,
        opened_at=routed.event_time,
        levels=routed.levels,
        context=routed.context,
        urgent=routed.urgent,
        webhooks=routed.webhooks,
        level=1,
        next_level_at=start + within if len(routed.levels) > 1 else None,
    )


# Notifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class _About:
    kommun: str
    event_id: str
    event_type: str
    event_time: datetime
    context: dict[str, str]
    urgent: bool
    webhooks: tuple[str, ...]
    escalation_id: str = ""


def _personal(context: Mapping[str, str], who: Person) -> dict[str, str]:
    """The context for one person: a fallback recipient is told why they hear of it."""
    if who.why.startswith("fallback:"):
        return {**context, "fallback": who.why.removeprefix("fallback:")}
    return dict(context)


def _make(
    about: _About,
    level: int,
    people: Sequence[Person],
    now: datetime,
    config: KommunConfig,
    link_for: Callable[[str], str] | None,
) -> list[Notification]:
    made: dict[str, Notification] = {}

    def add(channel: Channel, address: str, who: Person, held: datetime | None, ack: str) -> None:
        nid = notification_id(about.event_id, level, channel, address)
        if nid in made:  # one person named twice, or a webhook both theirs and the route's
            return
        made[nid] = Notification(
            id=nid,
            kommun=about.kommun,
            event_id=about.event_id,
            event_type=about.event_type,
            event_time=about.event_time,
            level=level,
            channel=channel,
            address=address,
            recipient=who,
            message=render(
                about.event_type, _personal(about.context, who), who.language, level, ack
            ),
            urgent=about.urgent,
            created_at=now,
            due_at=held or now,
            status=Status.HELD if held else Status.PENDING,
            escalation_id=about.escalation_id,
        )

    for who in people:
        prefs = _recipient(config, who.email)
        # Quiet hours hold what is not urgent for the recipient's digest; P5.8 never waits.
        held = None if about.urgent or prefs is None else quiet_until(prefs.quiet_hours, now)
        ack = link_for(who.email) if link_for is not None else ""
        if prefs is None or prefs.email:
            add(Channel.EMAIL, who.email, who, held, ack)
        if prefs is not None and prefs.webhook:
            add(Channel.WEBHOOK, prefs.webhook, who, held, ack)
    for name in about.webhooks:  # the route's own channels: a team's, told at once
        hook = Person(name=name, email="", language=config.language, why="webhook")
        add(Channel.WEBHOOK, name, hook, None, "")
    return list(made.values())


def notifications(routed: Routed, now: datetime, config: KommunConfig) -> list[Notification]:
    """Level 1 of an event that needs no acknowledgement."""
    about = _About(
        routed.kommun,
        routed.event_id,
        routed.event_type,
        routed.event_time,
        routed.context,
        routed.urgent,
        routed.webhooks,
    )
    return _make(about, 1, routed.levels[0] if routed.levels else (), now, config, None)


def notifications_for_level(
    escalation: Escalation, level: int, now: datetime, config: KommunConfig, ack_secret: bytes
) -> list[Notification]:
    """Level `level` (1 when the event came; 2, 3 … as the ladder climbs, P5.6) of an
    escalation: each person's message carries their own signed acknowledge link, valid
    `acknowledge_link_valid_hours`."""
    if not 1 <= level <= len(escalation.levels):
        return []
    expires = now + timedelta(hours=config.notify.acknowledge_link_valid_hours)

    def link_for(email: str) -> str:
        return acknowledge_url(config, sign(ack_secret, escalation.id, email, expires))

    about = _About(
        escalation.kommun,
        escalation.event_id,
        escalation.event_type,
        escalation.opened_at,
        escalation.context,
        escalation.urgent,
        escalation.webhooks,
        escalation.id,
    )
    return _make(about, level, escalation.levels[level - 1], now, config, link_for)
