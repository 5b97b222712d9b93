"""Notify's routing, directory and messages as pure functions (issue 11): who hears what,
in which language, which channel, when; and that a message holds named values only."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.domain import acks as ladder
from services.notify.domain import directory, routing
from services.notify.domain.acks import read
from services.notify.domain.directory import Account
from services.notify.domain.messages import context_of, render
from services.notify.domain.notifications import Person, Status
from shared.events import (
    AccountApprovedData,
    AccountCreated,
    AccountCreatedData,
    AccountRef,
    AccountUnattended,
    AccountUnattendedData,
    AccountUpdatedData,
    Actor,
    AdminAbsent,
    AdminAbsentData,
    CommentFlagged,
    CommentFlaggedData,
    Event,
    ModerationDecided,
    ModerationDecidedData,
    PersonRef,
)
from shared.kommun import KommunConfig, Route
from tests.helpers import account_created, kommun_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Sweden
ANNA = PersonRef(name="Anna Andersson", email="anna@nora.example")
BERTIL = PersonRef(name="Bertil Berg", email="bertil@nora.example")
CECILIA = PersonRef(name="Cecilia Claesson", email="cecilia@nora.example")
SECRET = b"unit-test-ack-key"


def config(**notify: Any) -> KommunConfig:
    base = kommun_config()
    raw = base.model_dump(mode="json", exclude_none=True)
    raw["notify"] = raw["notify"] | notify
    return KommunConfig.model_validate(raw)


def created(*administrators: PersonRef, **changes: Any) -> AccountCreated:
    event = account_created()
    data = AccountCreatedData.model_validate(
        event.data.model_dump()
        | {"administrators": [a.model_dump() for a in administrators]}
        | changes
    )
    return AccountCreated.new("nora", event.subject, data, NOW)


def known(event: AccountCreated) -> Account:
    return directory.account_of(event.data, "nora", event.time)


def flagged(account: AccountCreated, **changes: Any) -> CommentFlagged:
    data = {
        "comment_id": "facebook-42",
        "account_id": account.data.account_id,
        "action": "remove",
        "categories": ["threat"],
        "rules": ["P5.8"],
    } | changes
    return CommentFlagged.new("nora", "facebook-42", CommentFlaggedData.model_validate(data), NOW)


def absence(account: AccountCreated, who: PersonRef, substitute: PersonRef | None) -> AdminAbsent:
    data = AdminAbsentData(
        absence_id="abs-1",
        administrator=who,
        account_ids=[account.data.account_id],
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=6),
        substitute=substitute,
    )
    return AdminAbsent.new("nora", "abs-1", data, NOW - timedelta(days=1))


def routed(
    event: Event, accounts: list[Account], cfg: KommunConfig | None = None
) -> routing.Routed | None:
    cfg = cfg or config()
    return routing.route(event, cfg.notify.routes.get(event.nats_subject), accounts, cfg, NOW)


def emails(r: routing.Routed | None, level: int = 0) -> list[str]:
    assert r is not None
    return [p.email for p in r.levels[level]]


# The directory -------------------------------------------------------------------------


def test_P5_1_on_duty_are_the_present_administrators_and_the_substitute_of_one_away() -> None:
    account_event = created(ANNA, BERTIL)
    account = directory.away(known(account_event), absence(account_event, ANNA, CECILIA).data)
    assert [p.email for p in directory.on_duty(account, NOW)] == [CECILIA.email, BERTIL.email]
    # Outside the absence's times Anna is on duty again, even before admin.returned.
    later = NOW + timedelta(days=7)
    assert [p.email for p in directory.on_duty(account, later)] == [ANNA.email, BERTIL.email]
    without = directory.away(known(account_event), absence(account_event, ANNA, None).data)
    assert [p.email for p in directory.on_duty(without, NOW)] == [BERTIL.email]
    back = directory.back(account, absence(account_event, ANNA, CECILIA).data)
    assert back.absences == ()


def test_P5_1_an_older_account_event_arriving_late_changes_nothing() -> None:
    event = created(ANNA)
    account = known(event)
    update = AccountUpdatedData.model_validate(
        event.data.model_dump()
        | {
            "administrators": [BERTIL.model_dump()],
            "state": "active",
            "changes": ["plan.administrators"],
            "reapproval_required": True,
        }
    )
    newer = directory.apply_account(account, update, NOW + timedelta(hours=1))
    assert [p.email for p in newer.administrators] == [BERTIL.email]
    late = directory.apply_account(newer, event.data, event.time)
    assert late == newer


def test_P5_1_an_account_created_after_its_approval_or_closing_still_gives_the_administrators() -> (
    None
):
    """account.approved and account.closed carry no administrators: seen first, they
    must not make the older account.created's administrators look old (each part of
    the account is judged by the time of the event that set it)."""
    event = created(ANNA, BERTIL)
    ref = {k: getattr(event.data, k) for k in AccountRef.model_fields}
    approved = AccountApprovedData.model_validate(ref | {"signatures": []})
    for first in (approved, AccountRef.model_validate(ref)):
        account = directory.stub(event.data.account_id, "nora")
        account = directory.apply_account(account, first, event.time + timedelta(days=1))
        assert account.known
        assert not account.administrators_known
        account = directory.apply_account(account, event.data, event.time)  # arrives late
        assert [p.email for p in account.administrators] == [ANNA.email, BERTIL.email]
        assert account.administrators_known
        assert account.details_as_of == event.time + timedelta(days=1)
        assert [p.email for p in directory.on_duty(account, NOW)] == [ANNA.email, BERTIL.email]
        routed_to = emails(routed(flagged(event), [account]))
        assert routed_to == [ANNA.email, BERTIL.email]  # not the fallback


def test_P5_1_an_older_account_event_with_administrators_does_not_undo_newer_ones() -> None:
    event = created(ANNA)
    update = AccountUpdatedData.model_validate(
        event.data.model_dump()
        | {
            "administrators": [BERTIL.model_dump()],
            "state": "active",
            "changes": ["plan.administrators"],
            "reapproval_required": True,
        }
    )
    ref = {k: getattr(event.data, k) for k in AccountRef.model_fields}
    account = directory.stub(event.data.account_id, "nora")
    account = directory.apply_account(
        account, AccountRef.model_validate(ref), NOW + timedelta(hours=2)
    )
    account = directory.apply_account(account, update, NOW + timedelta(hours=1))
    account = directory.apply_account(account, event.data, event.time)  # oldest, last
    assert [p.email for p in account.administrators] == [BERTIL.email]
    assert account.administrators_as_of == NOW + timedelta(hours=1)


def test_P5_1_an_absence_before_its_account_keeps_a_stub_that_is_not_known() -> None:
    event = created(ANNA)
    stub = directory.away(
        directory.stub(event.data.account_id, "nora"), absence(event, ANNA, CECILIA).data
    )
    assert not stub.known
    account = directory.apply_account(stub, event.data, event.time)
    assert account.known
    assert [p.email for p in directory.on_duty(account, NOW)] == [CECILIA.email]


# Routing -------------------------------------------------------------------------------


def test_P3_6_a_plan_goes_to_the_department_head_and_the_informationsansvarig() -> None:
    event = created(ANNA)
    r = routed(event, [known(event)])
    assert emails(r) == ["fc.ks@nora.example", "kommunchef@nora.example"]
    assert r is not None
    assert [p.why for p in r.levels[0]] == ["department_head", "contact:informationsansvarig"]
    assert not r.acknowledge


def test_P5_1_one_person_named_twice_in_a_level_is_told_once() -> None:
    event = created(ANNA)
    cfg = config(routes={"comment.flagged": {"to": ["on_duty", "administrators"]}})
    r = routed(flagged(event), [known(event)], cfg)
    assert emails(r) == [ANNA.email]
    assert r is not None
    assert r.levels[0][0].why == "on_duty"


def test_P3_3_nobody_found_falls_back_to_the_informationsansvarig_and_says_why() -> None:
    event = created()  # no administrators
    r = routed(flagged(event), [known(event)])
    assert emails(r) == ["kommunchef@nora.example"]
    assert r is not None
    assert r.levels[0][0].why == "fallback:on_duty"
    (note,) = routing.notifications(r, NOW, config())
    assert "i stället för administratörerna i tjänst" in note.message.text
    unknown = routed(flagged(event), [])
    assert unknown is not None
    assert unknown.context["account_known"] == "no"
    assert unknown.context["account"] == event.data.account_id


def test_P5_4_a_decision_that_forwarded_nothing_tells_nobody() -> None:
    event = created(ANNA)

    def decided(forwarded_to: PersonRef | None) -> ModerationDecided:
        data = ModerationDecidedData(
            case_id="case-1",
            comment_id="facebook-1",
            account_id=event.data.account_id,
            resolution="forward" if forwarded_to else "keep",
            rules=["P5.4"],
            reason="-",
            by=Actor(subject="x"),
            at=NOW,
            forwarded_to=forwarded_to,
        )
        return ModerationDecided.new("nora", "facebook-1", data, NOW)

    assert routed(decided(None), [known(event)]) is None
    assert emails(routed(decided(CECILIA), [known(event)])) == [CECILIA.email]


def test_P3_3_an_event_type_the_kommun_routes_nowhere_tells_nobody() -> None:
    event = created(ANNA)
    cfg = config(routes={"comment.flagged": None})
    assert routed(flagged(event), [known(event)], cfg) is None


def test_P5_1_absence_tells_the_substitute_and_the_other_administrators() -> None:
    event = created(ANNA, BERTIL)
    away = absence(event, ANNA, CECILIA)
    account = directory.away(known(event), away.data)
    assert emails(routed(away, [account])) == [CECILIA.email, BERTIL.email]


def test_issue_11_language_is_the_recipients_then_the_contacts_then_the_kommuns() -> None:
    base = kommun_config()
    raw = base.model_dump(mode="json", exclude_none=True)
    raw["contacts"]["informationsansvarig"]["language"] = "en"
    raw["notify"]["recipients"] = {ANNA.email: {"language": "en"}}
    cfg = KommunConfig.model_validate(raw)
    assert routing.language_of(cfg, "Anna@nora.example") == "en"
    assert routing.language_of(cfg, "kommunchef@nora.example") == "en"
    assert routing.language_of(cfg, BERTIL.email) == "sv"


# Waiting for the directory --------------------------------------------------------------


def test_P5_1_a_route_waits_for_what_the_directory_does_not_know_yet() -> None:
    cfg = config()
    event = created(ANNA)
    account_id = event.data.account_id
    comment = flagged(event)
    rule = cfg.notify.routes["comment.flagged"]  # on_duty: the account's people
    assert routing.waits_for(comment, rule, {}) == [account_id]  # never seen
    ref = AccountRef.model_validate(event.data.model_dump())
    approved_only = directory.apply_account(directory.stub(account_id, "nora"), ref, NOW)
    assert routing.waits_for(comment, rule, {account_id: approved_only}) == [account_id]
    assert routing.waits_for(comment, rule, {account_id: known(event)}) == []
    # Waited for in vain once: not again (the fallback at once, P3.3).
    gone = directory.missing(directory.stub(account_id, "nora"), NOW)
    assert routing.waits_for(comment, rule, {account_id: gone}) == []
    # The plan's own event names its department: the heads need no directory.
    plan_rule = cfg.notify.routes["account.created"]
    assert routing.waits_for(event, plan_rule, {}) == []
    # A route naming nobody from the directory never waits.
    assert routing.waits_for(comment, Route(to=["contact:informationsansvarig"]), {}) == []
    assert routing.waits_for(comment, None, {}) == []
    # P5.8: an urgent route is told at once, whatever the directory knows.
    assert routing.waits_for(comment, Route(to=["on_duty"], urgent=True), {}) == []


def test_P3_3_a_waiting_event_is_claimed_once_and_gives_up_after_the_grace() -> None:
    item = routing.waiting(flagged(created(ANNA)), NOW)
    assert item.open
    assert len(item.account_ids) == 1
    grace = timedelta(seconds=5)
    assert not routing.gave_up(item, NOW + timedelta(seconds=4), grace)
    assert routing.gave_up(item, NOW + timedelta(seconds=5), grace)
    assert routing.claimable(item, NOW)
    claimed = routing.claim(item, NOW, timedelta(seconds=60))
    assert not routing.claimable(claimed, NOW + timedelta(seconds=59))
    assert routing.claimable(claimed, NOW + timedelta(seconds=60))  # its router died
    done = routing.routed_waiting(claimed, NOW, "fallback")
    assert not done.open
    assert not routing.claimable(done, NOW + timedelta(days=1))
    assert done.event == ""  # the event's values are not kept once routed
    assert (done.routed_at, done.routed_by) == (NOW, "fallback")


def test_P3_3_account_attended_closes_only_its_accounts_older_unattended_escalation() -> None:
    event = created(ANNA)
    unattended = AccountUnattended.new(
        "nora",
        event.subject,
        AccountUnattendedData.model_validate(
            event.data.model_dump()
            | {
                "since": NOW,
                "absent": [ANNA.model_dump()],
                "escalate_to": [
                    {"level": 1, "role": "enhetschef", "person": BERTIL.model_dump()},
                    {"level": 2, "role": "förvaltningschef", "person": CECILIA.model_dump()},
                ],
            }
        ),
        NOW,
    )
    cfg = config()
    r = routing.route(unattended, cfg.notify.routes["account.unattended"], [known(event)], cfg, NOW)
    assert r is not None
    escalation = routing.escalation_of(r, NOW, cfg)
    account_id = event.data.account_id
    assert routing.closed_by_attendance(escalation, account_id, NOW)
    assert routing.closed_by_attendance(escalation, account_id, NOW + timedelta(hours=1))
    assert not routing.closed_by_attendance(escalation, account_id, NOW - timedelta(minutes=1))
    assert not routing.closed_by_attendance(escalation, "another-account", NOW)
    assert not routing.closed_by_attendance(escalation, account_id, None)
    acknowledged = ladder.acknowledge(escalation, routing.ATTENDED, NOW)
    assert not routing.closed_by_attendance(acknowledged, account_id, NOW)
    later = directory.attended(known(event), NOW)
    assert directory.attended(later, NOW - timedelta(hours=1)).attended_at == NOW


# Notifications -------------------------------------------------------------------------


def test_issue_11_channels_follow_the_recipients_and_the_routes_webhooks() -> None:
    event = created(ANNA, BERTIL)
    cfg = config(
        routes={"comment.flagged": {"to": ["on_duty"], "webhooks": ["team"]}},
        webhooks={
            "team": {"url": "https://hooks.example/team", "secret": "k"},
            "bertil": {"url": "https://hooks.example/bertil", "secret": "k"},
        },
        recipients={BERTIL.email: {"email": False, "webhook": "bertil"}},
    )
    r = routed(flagged(event), [known(event)], cfg)
    assert r is not None
    notes = routing.notifications(r, NOW, cfg)
    assert sorted((n.channel.value, n.address) for n in notes) == [
        ("email", ANNA.email),
        ("webhook", "bertil"),
        ("webhook", "team"),
    ]
    team = next(n for n in notes if n.address == "team")
    assert team.recipient == Person("team", "", "sv", "webhook")
    assert all(n.status is Status.PENDING and n.due_at == NOW for n in notes)


def test_P5_8_quiet_hours_hold_what_is_not_urgent_only() -> None:
    event = created(ANNA)
    quiet = {ANNA.email: {"quiet_hours": {"start": "08:00", "end": "17:00"}}}
    cfg = config(recipients=quiet)
    r = routed(flagged(event), [known(event)], cfg)
    assert r is not None
    (held,) = routing.notifications(r, NOW, cfg)
    assert held.status is Status.HELD
    assert held.due_at == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 17:00 in Sweden
    urgent = routing.Routed(**{**r.__dict__, "urgent": True})
    (now,) = routing.notifications(urgent, NOW, cfg)
    assert (now.status, now.due_at, now.urgent) == (Status.PENDING, NOW, True)


def test_P5_6_an_escalation_holds_every_level_and_each_link_is_the_recipients() -> None:
    event = created(ANNA)
    cfg = config()
    data = {
        **event.data.model_dump(),
        "since": NOW,
        "absent": [ANNA.model_dump()],
        "escalate_to": [
            {"level": 1, "role": "enhetschef", "person": BERTIL.model_dump()},
            {"level": 2, "role": "förvaltningschef", "person": CECILIA.model_dump()},
        ],
    }
    unattended = AccountUnattended.new(
        "nora", event.subject, AccountUnattendedData.model_validate(data), NOW
    )
    r = routed(unattended, [known(event)], cfg)
    assert r is not None
    escalation = routing.escalation_of(r, NOW, cfg)
    assert [[p.email for p in level] for level in escalation.levels] == [
        [BERTIL.email],
        [CECILIA.email],
    ]
    assert escalation.next_level_at == NOW + timedelta(minutes=60)
    (first,) = routing.notifications_for_level(escalation, 1, NOW, cfg, SECRET)
    token = first.message.acknowledge_url.removeprefix(
        "https://kanalvakt.nora.example/acknowledge/"
    )
    assert read(SECRET, token, NOW) == (unattended.id, BERTIL.email)
    assert first.escalation_id == unattended.id
    later = NOW + timedelta(minutes=61)
    (second,) = routing.notifications_for_level(escalation, 2, later, cfg, SECRET)
    assert (second.level, second.address) == (2, CECILIA.email)
    assert second.id != first.id
    assert second.message.subject.startswith("[Nivå 2]")
    assert "Ingen på nivå 1 har kvitterat inom 60 minuter" in second.message.text
    assert routing.notifications_for_level(escalation, 3, later, cfg, SECRET) == []


# Messages ------------------------------------------------------------------------------


def test_L7_a_message_holds_named_values_only() -> None:
    event = created(ANNA)
    flag = flagged(
        event,
        categories=["confidential"],
        source="report",
        reason="Sven Svensson 19811218-9876 är sjuk",
        evidence=[{"rule": "P7", "category": "confidential", "matched": ["sjuk"]}],
    )
    ctx = context_of(flag, [known(event)], config())
    assert ctx["record_id"] == "facebook-42"
    assert not any("Sven" in v or "9876" in v or "sjuk" in v for v in ctx.values())
    message = render("comment.flagged", ctx, "sv")
    assert "facebook-42" in message.text
    assert "Sven" not in message.text + message.html


def test_L7_the_html_part_escapes_every_value() -> None:
    ctx = {"kommun": "Nora kommun", "account": "<script>x</script>", "event": "account.closed"}
    message = render("account.closed", ctx, "sv")
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<script>x</script>" in message.text  # plain text is never markup


def test_issue_11_no_link_without_links_base_url_and_english_per_recipient() -> None:
    event = created(ANNA)
    raw = kommun_config().model_dump(mode="json", exclude_none=True)
    raw["notify"].pop("links_base_url", None)
    cfg = KommunConfig.model_validate(raw)
    ctx = context_of(event, [known(event)], cfg)
    assert "link" not in ctx
    message = render("account.created", ctx, "en")
    assert message.link == ""
    assert message.subject == f"New activity plan to approve: {event.data.name}"
    assert "Open in Kanalvakt" not in message.text
    default_route = Route(to=["administrators"])
    assert routing.needs_directory(default_route)
