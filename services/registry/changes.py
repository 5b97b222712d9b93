"""One change to an account: load it, let the domain decide, save it with its events,
announce them. A concurrent change makes the save stale: then it is done again on the
fresh account, so the rules always judge what is really stored.
"""

import logging
from collections.abc import Callable

from services.registry.domain.account import Account, Outcome
from services.registry.store import RegistryStore
from shared.bus import EventPublisher
from shared.outbox import Outbox, StaleWrite
from shared.rules import Conflict, violation

log = logging.getLogger("kanalvakt.registry")

ATTEMPTS = 5


class AccountNotFound(LookupError):
    pass


async def announce(outbox: Outbox, doc_id: str, publisher: EventPublisher) -> None:
    """Publish what the write queued; if NATS is away, the sweep sends it later."""
    try:
        await outbox.flush(doc_id, publisher)
    except Exception:
        log.warning("events of %s stay queued in the outbox", doc_id, exc_info=True)


async def change(
    store: RegistryStore,
    publisher: EventPublisher,
    account_id: str,
    decide: Callable[[Account], Outcome],
) -> Account:
    for _ in range(ATTEMPTS):
        found = await store.get(account_id)
        if found is None:
            raise AccountNotFound(account_id)
        account, version = found
        changed, events = decide(account)
        if changed == account and not events:
            return account
        try:
            await store.save(changed, version, events)
        except StaleWrite:
            continue
        await announce(store.accounts_outbox, account_id, publisher)
        return changed
    raise violation(
        "account_id",
        "input",
        "Kontot ändrades samtidigt av någon annan; försök igen.",
        "the account was changed by someone else at the same time; try again",
        Conflict,
    )
