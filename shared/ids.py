"""Identifiers: ULIDs as text, sortable by time and the same in MongoDB and the test store."""

from ulid import ULID


def new_id() -> str:
    return str(ULID())
