"""Requests for public records (L4): what a search asks, and what a caller may see.

`record_fields` are the query fields the store keeps beside each record, computed from
it by every write (shared.unit_of_work.Mapper's `derived`).
"""

from typing import Any

from services.archive.domain.records import Record

UNKNOWN = "unknown"  # not yet known: the item's own event has not been kept yet


def record_fields(record: Record) -> dict[str, Any]:
    # Never null: nx-27017 counts an explicit null wrongly (README, "Store").
    return {
        "state": record.state.value if record.state else UNKNOWN,
        "author_kind": record.author.kind.value if record.author else UNKNOWN,
        "awaits_registration": record.awaits_registration,
    }
