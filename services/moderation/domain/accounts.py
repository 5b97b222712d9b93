"""Moderation's view of accounts and their deadlines: pure rules, no NATS, no MongoDB.

Comments, classification and cases come with the moderation issue; what exists now is
the list of accounts that moderation watches, each with the deadlines it is held to.
"""

from dataclasses import dataclass

from shared.events import AccountCreated
from shared.kommun import KommunConfig


@dataclass(frozen=True)
class WatchedAccount:
    id: str
    kommun: str
    name: str
    platform: str
    removal_hours: int  # B1.7
    answer_hours: int  # P5.3


def watch(event: AccountCreated, config: KommunConfig) -> WatchedAccount:
    """A registered account is watched with its plan's deadlines, or the kommun's
    defaults where the event has none (B1 item 7, P5.3)."""
    data = event.data
    return WatchedAccount(
        id=data.account_id,
        kommun=event.kommun,
        name=data.name,
        platform=data.platform,
        removal_hours=data.removal_deadline_hours or config.deadlines.removal_hours,
        answer_hours=data.answer_deadline_hours or config.deadlines.answer_hours,
    )
