"""Acknowledge links and the ladder's rules (P5.6, P5.8), without NATS or a store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from services.notify.domain import acks
from services.notify.domain.acks import (
    Escalation,
    LinkExpired,
    ack_secret,
    acknowledge,
    climb,
    due_level,
    first_told,
    read,
    sign,
    waiting_since,
    warn_if_unsigned,
)
from services.notify.domain.delivery import quiet_until
from services.notify.domain.notifications import Person
from services.notify.domain.routing import Routed, escalation_of
from shared.clock import SWEDEN
from shared.kommun import KommunConfig, QuietHours, Recipient
from shared.rules import NotPermitted, RuleViolations
from shared.settings import Settings
from tests.helpers import kommun_config

KEY = b"k" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ENHETSCHEF = Person("Enhetschef", "enhet@nora.example", "sv", "escalation:1")
FORVALTNINGSCHEF = Person("Förvaltningschef", "fc@nora.example", "sv", "escalation:2")


def _escalation(**changes: object) -> Escalation:
    base = Escalation(
        id="01EVENT",
        kommun="nora",
        event_id="01EVENT",
        event_type="account.unattended",
        about="noranaringsliv",
        opened_at=NOW,
        levels=((ENHETSCHEF,), (FORVALTNINGSCHEF,)),
        context={"name": "noranaringsliv"},
        urgent=False,
        next_level_at=NOW + HOUR,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _rule_of(exc: RuleViolations) -> tuple[str, str]:
    [v] = exc.violations
    return v.field, v.rule


def test_P5_6_token_round_trip() -> None:
    token = sign(KEY, "01EVENT", "Enhet@nora.example", NOW + HOUR)
    assert read(KEY, token, NOW) == ("01EVENT", "Enhet@nora.example")
    # URL-safe and compact: goes into a link as it is.
    assert all(c.isalnum() or c in "-_." for c in token)
    assert len(token) < 120


def test_P5_6_token_tampered_is_refused_as_forged() -> None:
    token = sign(KEY, "01EVENT", "enhet@nora.example", NOW + HOUR)
    payload, mac = token.split(".")
    other = sign(KEY, "01OTHER", "enhet@nora.example", NOW + HOUR).split(".")[0]
    for forged in (
        f"{other}.{mac}",  # another escalation's payload under this signature
        f"{payload}.{mac[:-2]}AA",  # an altered signature
        sign(b"another key", "01EVENT", "enhet@nora.example", NOW + HOUR),
    ):
        with pytest.raises(NotPermitted) as refused:
            read(KEY, forged, NOW)
        assert _rule_of(refused.value) == ("token", "P5.6")
        assert refused.value.status == 403


@pytest.mark.parametrize("token", ["", "abc", ".", "abc.", ".abc", "x" * 3000, "å.ä"])
def test_P5_6_malformed_token_is_422_naming_the_token(token: str) -> None:
    with pytest.raises(RuleViolations) as refused:
        read(KEY, token, NOW)
    assert _rule_of(refused.value) == ("token", "P5.6")
    assert refused.value.status in (403, 422)


def test_P5_6_signed_but_unreadable_payload_is_malformed() -> None:
    import base64
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(b'{"e": 1}').decode().rstrip("=")
    mac = base64.urlsafe_b64encode(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())
    with pytest.raises(RuleViolations) as refused:
        read(KEY, f"{payload}.{mac.decode().rstrip('=')}", NOW)
    assert refused.value.status == 422
    assert _rule_of(refused.value) == ("token", "P5.6")


def test_P5_6_expired_token_is_410_saying_when() -> None:
    token = sign(KEY, "01EVENT", "enhet@nora.example", NOW + HOUR)
    assert read(KEY, token, NOW + HOUR - timedelta(seconds=1))[0] == "01EVENT"
    with pytest.raises(LinkExpired) as expired:
        read(KEY, token, NOW + HOUR)
    assert expired.value.status == 410
    assert _rule_of(expired.value) == ("token", "P5.6")
    assert "2026-11-23 10:00" in expired.value.violations[0].en


def test_P5_6_ack_secret_from_settings_else_one_per_process() -> None:
    configured = Settings(notify_ack_secret=SecretStr("s3cret"))
    assert ack_secret(configured) == b"s3cret"
    unset = Settings(notify_ack_secret=None)
    assert ack_secret(unset) == ack_secret(Settings(notify_ack_secret=None))
    assert len(ack_secret(unset)) == 32


def test_P5_6_first_acknowledgement_wins_and_stops_the_ladder() -> None:
    e = _escalation()
    first = acknowledge(e, "enhet@nora.example", NOW + timedelta(minutes=5))
    assert first.acknowledged_at == NOW + timedelta(minutes=5)
    assert first.acknowledged_by == "enhet@nora.example"
    assert first.next_level_at is None
    again = acknowledge(first, "fc@nora.example", NOW + timedelta(minutes=9))
    assert again == first
    assert climb(first, NOW + 2 * HOUR, HOUR) == (None, first)


def test_P5_6_climb_tells_the_next_level_when_due() -> None:
    e = _escalation()
    assert climb(e, NOW + HOUR - timedelta(seconds=1), HOUR) == (None, e)
    level, advanced = climb(e, NOW + HOUR, HOUR)
    assert level == 2
    assert advanced.level == 2
    assert advanced.next_level_at is None  # the last level: nothing left to climb
    assert climb(advanced, NOW + 5 * HOUR, HOUR) == (None, advanced)


def test_P5_6_climb_gives_each_middle_level_its_time() -> None:
    third = Person("Kommundirektör", "kd@nora.example")
    e = _escalation(levels=((ENHETSCHEF,), (FORVALTNINGSCHEF,), (third,)))
    at = NOW + 2 * HOUR  # the loop ran late: the next level gets its full time from now
    level, advanced = climb(e, at, HOUR)
    assert (level, advanced.level, advanced.next_level_at) == (2, 2, at + HOUR)
    level, advanced = climb(advanced, at + HOUR, HOUR)
    assert (level, advanced.level, advanced.next_level_at) == (3, 3, None)


def test_P5_6_climb_past_the_top_ends_the_ladder() -> None:
    # A stored escalation at its top with a time left (say the levels were fewer): no
    # level is told, and it no longer climbs.
    e = _escalation(level=2)
    assert climb(e, NOW + HOUR, HOUR) == (None, replace(e, next_level_at=None))


def test_P3_3_waiting_since_counts_until_acknowledged() -> None:
    e = _escalation()
    assert waiting_since(e, NOW + HOUR) == 3600.0
    assert waiting_since(acknowledge(e, "x@nora.example", NOW), NOW + HOUR) == 0.0


def test_P5_6_unset_ack_secret_warns_once_that_links_die_with_the_process(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acks, "_warned", [])
    assert not warn_if_unsigned(Settings(notify_ack_secret=SecretStr("s3cret")))
    with caplog.at_level("WARNING", logger="kanalvakt.notify.acks"):
        ack_secret(Settings(notify_ack_secret=None))  # first use warns
        assert not warn_if_unsigned(Settings(notify_ack_secret=None))  # once only
        ack_secret(Settings(notify_ack_secret=None))
    [warning] = [r for r in caplog.records if "NOTIFY_ACK_SECRET" in r.getMessage()]
    assert "other replica" in warning.getMessage()
    assert "dies when it stops" in warning.getMessage()


def test_P5_6_due_level_and_first_told() -> None:
    e = _escalation()
    assert due_level(e, NOW) is None
    assert due_level(e, NOW + HOUR) == 2
    assert due_level(acknowledge(e, "enhet@nora.example", NOW), NOW + HOUR) is None
    assert due_level(_escalation(level=2), NOW + HOUR) is None
    assert first_told([], NOW) == NOW
    assert first_told([NOW + 3 * HOUR, NOW + HOUR], NOW) == NOW + HOUR
    assert first_told([NOW - HOUR], NOW) == NOW  # a retry long due: told now


def test_P5_6_P5_1_climb_counts_the_next_level_from_when_this_one_is_told() -> None:
    third = Person("Kommundirektör", "kd@nora.example")
    e = _escalation(levels=((ENHETSCHEF,), (FORVALTNINGSCHEF,), (third,)))
    # The förvaltningschef has quiet hours until 3 hours from now: level 3 waits for
    # an hour after they are told, not an hour after their message was held.
    told = NOW + HOUR + 3 * HOUR
    level, advanced = climb(e, NOW + HOUR, HOUR, told)
    assert (level, advanced.next_level_at) == (2, told + HOUR)
    level, advanced = climb(e, NOW + HOUR, HOUR, NOW)  # never earlier than now
    assert advanced.next_level_at == NOW + 2 * HOUR


def _with_quiet(config: KommunConfig, quiet: dict[str, Recipient]) -> KommunConfig:
    notify = config.notify.model_copy(update={"recipients": quiet})
    return config.model_copy(update={"notify": notify})


def _routed(urgent: bool = False, webhooks: tuple[str, ...] = ()) -> Routed:
    return Routed(
        kommun="nora",
        event_id="01EVENT",
        event_type="account.unattended",
        event_time=NOW,
        about="noranaringsliv",
        levels=((ENHETSCHEF,), (FORVALTNINGSCHEF,)),
        webhooks=webhooks,
        acknowledge=True,
        urgent=urgent,
        context={"name": "noranaringsliv"},
    )


def test_P5_6_P5_1_ladder_counts_from_the_end_of_level_ones_quiet_hours_unless_urgent() -> None:
    config = kommun_config("nora")
    within = timedelta(minutes=config.notify.acknowledge_within_minutes)
    night = datetime(2026, 11, 23, 23, 0, tzinfo=SWEDEN)  # 23:00 Swedish time
    quiet = QuietHours(start="22:00", end="07:00")
    morning = quiet_until(quiet, night)
    assert morning is not None
    held = _with_quiet(config, {ENHETSCHEF.email: Recipient(quiet_hours=quiet)})
    assert escalation_of(_routed(), night, held).next_level_at == morning + within
    # Urgent (P5.8): nobody's quiet hours hold it, the time runs from now.
    assert escalation_of(_routed(urgent=True), night, held).next_level_at == night + within
    # The route's own webhook is told at once: someone heard of it now.
    told = escalation_of(_routed(webhooks=("teams",)), night, held)
    assert told.next_level_at == night + within
    # Without quiet hours, from now as before.
    assert escalation_of(_routed(), night, config).next_level_at == night + within
