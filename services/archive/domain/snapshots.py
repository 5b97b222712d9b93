"""Snapshots of accounts (P10.5, L8): when one is due."""

from collections.abc import Iterable

from shared.kommun import Snapshots


def larger_change(changes: Iterable[str], rule: Snapshots) -> bool:
    """P10.5: an `account.updated` whose changes include one the kommun counts as larger
    (profile or purpose), matched by the change's last part (`plan.purpose`)."""
    return any(change.rsplit(".", 1)[-1] in rule.changes for change in changes)
