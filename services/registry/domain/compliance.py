"""Whether a running account keeps the rules that keep it running, and what the
registry tells others when that changes (P3.1, P3.3, P3.5, P3.6, P4.1, P5.6, P5.7).
"""

from dataclasses import replace
from datetime import datetime, timedelta

from services.registry.domain.absence import Absence, attendance, escalation
from services.registry.domain.account import (
    LIVE_STATES,
    Account,
    State,
    unconfirmed_profile_rules,
)
from shared.events import (
    AccountAttended,
    AccountAttendedData,
    AccountNoncompliant,
    AccountNoncompliantData,
    AccountUnattended,
    AccountUnattendedData,
    Event,
    Finding,
)
from shared.kommun import KommunConfig
from shared.unit_of_work import Decision


def findings(account: Account, now: datetime, kommun: KommunConfig) -> list[Finding]:
    if account.state not in LIVE_STATES:
        return []
    rules = kommun.registry
    # An approved account gets a grace period to deposit credentials and confirm the
    # profile before it is reported for them (P3.5, P4.1).
    setting_up = (
        account.state is State.APPROVED
        and account.approved_at is not None
        and now - account.approved_at <= timedelta(days=rules.activation_grace_days)
    )
    found = []
    if len(account.active_administrators) < 2:
        found.append(
            Finding(
                rule="P3.1",
                reason_sv="Färre än två aktiva administratörer.",
                reason_en="fewer than two active administrators",
            )
        )
    if account.credentials is None and not setting_up:
        found.append(
            Finding(
                rule="P3.5",
                reason_sv="Inloggningsuppgifterna är inte deponerade hos informationsansvarig.",
                reason_en="credentials not deposited with the information officer",
            )
        )
    if account.profile is None and not setting_up:
        found.append(
            Finding(
                rule="P4.1",
                reason_sv="Profilens checklista är inte bekräftad.",
                reason_en="profile checklist not confirmed",
            )
        )
    if account.profile is not None and "P5.7" in unconfirmed_profile_rules(account.profile.items):
        # Confirmed before the checklist asked for the notice: confirm the profile again.
        found.append(
            Finding(
                rule="P5.7",
                reason_sv="Det är inte bekräftat att profilen berättar att det besökare "
                "skriver blir synligt för andra och hur deras personuppgifter behandlas.",
                reason_en="the profile is not confirmed to tell visitors that what they post "
                "is visible to others and how their personal data is processed",
            )
        )
    review_interval = timedelta(days=rules.review_interval_days)
    if account.approved_at is not None and now - account.approved_at > review_interval:
        found.append(
            Finding(
                rule="P3.6",
                reason_sv="Verksamhetsplanen behöver ses över.",
                reason_en="the activity plan is due for review",
            )
        )
    return found


def review(
    account: Account, absences: list[Absence], now: datetime, kommun: KommunConfig
) -> Decision[Account]:
    """Recompute attendance and compliance at `now`; events for what changed."""
    events: list[Event] = []
    ref = account.ref()
    live = account.state in LIVE_STATES
    state = attendance(account.active_administrators, absences, now)
    if live and state.unattended and account.unattended_since is None:
        account = replace(account, unattended_since=now)
        events.append(
            AccountUnattended.new(
                account.kommun,
                subject=account.id,
                time=now,
                data=AccountUnattendedData(
                    **ref,
                    since=now,
                    absent=state.absent,
                    escalate_to=escalation(account.plan.department, account.plan.unit, kommun),
                ),
            )
        )
    elif account.unattended_since is not None and not (live and state.unattended):
        account = replace(account, unattended_since=None)
        events.append(
            AccountAttended.new(
                account.kommun, account.id, AccountAttendedData(**ref, since=now), now
            )
        )
    found = findings(account, now, kommun)
    rules = tuple(sorted(f.rule for f in found))
    if rules != account.findings:
        account = replace(account, findings=rules)
        if found:
            events.append(
                AccountNoncompliant.new(
                    account.kommun,
                    subject=account.id,
                    time=now,
                    data=AccountNoncompliantData(**ref, findings=found),
                )
            )
    return account, events


def reviewed(
    decision: Decision[Account], absences: list[Absence], now: datetime, kommun: KommunConfig
) -> Decision[Account]:
    """A step's decision with the review of its result: one write carries both."""
    account, events = decision
    account, more = review(account, absences, now, kommun)
    return account, [*events, *more]
